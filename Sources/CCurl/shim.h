#pragma once
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: these
// typed wrappers are the whole bridge.
static inline CURLcode vox_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode vox_curl_set_offt(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode vox_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode vox_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode vox_curl_set_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
typedef size_t (*vox_curl_data_callback)(char *data, size_t size, size_t count, void *user);
static inline CURLcode vox_curl_set_callback(CURL *handle, CURLoption option, vox_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}
static inline CURLcode vox_curl_response_code(CURL *handle, long *code) {
    return curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}
typedef curl_socket_t (*vox_curl_opensocket_callback)(void *user, curlsocktype purpose, struct curl_sockaddr *address);
static inline CURLcode vox_curl_set_opensocket(CURL *handle, vox_curl_opensocket_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, callback);
}

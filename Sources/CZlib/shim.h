#pragma once
#include <zlib.h>

// deflateInit2/inflateInit2 are macros (they pass the version and struct size): Swift cannot
// call a macro, so these wrap them.
static inline int voxfcgi_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
// Raw deflate (no header or trailer), as a ZIP entry holds it.
static inline int voxfcgi_deflate_init_raw(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
static inline int voxfcgi_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

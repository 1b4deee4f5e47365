import CCurl
import Foundation

/// One libcurl transfer, wrapped once: nothing outside this file sees a CURL pointer.
/// Handles are pooled, because a handle keeps its connections open for reuse (keep-alive).
final class CurlHandle {
    let handle: UnsafeMutableRawPointer

    init() {
        _ = CurlHandle.globalInit
        handle = curl_easy_init()!
    }

    deinit { curl_easy_cleanup(handle) }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    struct Options {
        var method: String
        var url: String
        var headers: [(String, String)]
        var body: [UInt8]?
        /// Streamed from disk instead of `body`, read as curl sends it: constant memory.
        var upload: FileRegion?
        var connectTimeout: TimeInterval
        var totalTimeout: TimeInterval
        var policy = OutboundPolicy()
    }

    struct Outcome {
        var status: Int
        var headers: [String: String]
    }

    enum TransferError: Error, CustomStringConvertible {
        case timeout
        case connection(String)
        case other(String)
        /// The policy refused the address the name resolved to; no connection was made.
        case refusedAddress(String)
        case tooLarge(limit: Int64)

        var description: String {
            switch self {
            case .timeout: "timed out"
            case let .connection(reason): "connection failed: \(reason)"
            case let .other(reason): reason
            case let .refusedAddress(address): "refused to connect to \(address), which is not a public address"
            case let .tooLarge(limit): "the response is larger than the \(limit / 1_048_576) MiB limit"
            }
        }
    }

    /// Runs one transfer; `sink` receives the body in chunks as it arrives.
    func perform(_ options: Options, sink: @escaping ([UInt8]) throws -> Void) throws -> Outcome {
        curl_easy_reset(handle)
        let context = TransferContext(sink: sink, maxBytes: options.policy.maxBodyBytes)
        if options.policy.refusePrivateAddresses {
            context.guardAddresses = true
            context.allowedAddresses = options.policy.allowed?.literalAddresses ?? []
        }
        if let upload = options.upload {
            context.upload = try UploadSource(upload)
        }
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }

        vox_curl_set_string(handle, CURLOPT_URL, options.url)
        vox_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM for timeouts
        vox_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        vox_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        vox_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        vox_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(options.totalTimeout * 1000))
        // Only HTTP(S), whatever a URL says (no file://, gopher://, dict://…). libcurl never
        // follows a redirect itself: HTTPClient checks each hop against the policy first.
        vox_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        vox_curl_set_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https")
        vox_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        // No proxy from the environment (http_proxy, ALL_PROXY…): through one, the address
        // check below would see only the proxy, and the proxy would resolve the URL's host.
        vox_curl_set_string(handle, CURLOPT_PROXY, "")
        // No CURLOPT_ACCEPT_ENCODING: nothing is decompressed, so a small compressed body
        // cannot become a huge one (the size limit counts what arrives).
        if let limit = options.policy.maxBodyBytes { vox_curl_set_offt(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limit)) }
        if let lowSpeed = options.policy.lowSpeed {
            vox_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, lowSpeed.bytesPerSecond)
            vox_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, lowSpeed.seconds)
        }
        if context.guardAddresses {
            vox_curl_set_opensocket(handle) { user, _, address in
                let context = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
                return context.openSocket(address!)
            }
            vox_curl_set_pointer(handle, CURLOPT_OPENSOCKETDATA, unmanaged.toOpaque())
        }
        vox_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, options.method)
        if options.method == "HEAD" { vox_curl_set_long(handle, CURLOPT_NOBODY, 1) }

        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in options.headers { list = curl_slist_append(list, "\(name): \(value)") }
        // curl adds "Expect: 100-continue" to larger bodies; servers answer faster without it.
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }
        vox_curl_set_slist(handle, CURLOPT_HTTPHEADER, list)

        // Never empty, so that its base address is never nil; the size set below is the real one.
        var bodyCopy = (options.body?.isEmpty ?? true) ? [0] : options.body!
        try bodyCopy.withUnsafeMutableBytes { body in
            if let upload = options.upload {
                // UPLOAD makes it a PUT unless CUSTOMREQUEST (set above) names the method.
                vox_curl_set_long(handle, CURLOPT_UPLOAD, 1)
                vox_curl_set_offt(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(upload.length))
                vox_curl_set_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, 512 * 1024)
                vox_curl_set_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, user in
                    let context = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
                    return context.upload?.read(into: buffer!, capacity: size * count) ?? 0
                }
                vox_curl_set_pointer(handle, CURLOPT_READDATA, unmanaged.toOpaque())
            } else if options.body != nil {
                vox_curl_set_offt(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(options.body?.count ?? 0))
                vox_curl_set_pointer(handle, CURLOPT_POSTFIELDS, body.baseAddress)
            }
            vox_curl_set_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                let context = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
                let length = size * count
                do {
                    try context.deliver(Array(UnsafeRawBufferPointer(start: data, count: length)))
                    return length
                } catch {
                    context.sinkError = error
                    return 0  // aborts the transfer
                }
            }
            vox_curl_set_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque())
            vox_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, user in
                let context = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
                let length = size * count
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                if line.hasPrefix("HTTP/") {
                    context.headers = [:]  // a new response (after a redirect or 100)
                } else if let colon = line.firstIndex(of: ":") {
                    let name = line[..<colon].lowercased()
                    context.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return length
            }
            vox_curl_set_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque())

            let code = curl_easy_perform(handle)
            if let refused = context.refusedAddress { throw TransferError.refusedAddress(refused) }
            if let error = context.sinkError { throw error }
            if let error = context.upload?.error { throw TransferError.other("reading the upload failed: \(error)") }
            switch code {
            case CURLE_OK: break
            case CURLE_OPERATION_TIMEDOUT: throw TransferError.timeout
            case CURLE_FILESIZE_EXCEEDED: throw TransferError.tooLarge(limit: options.policy.maxBodyBytes ?? 0)
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
                 CURLE_PARTIAL_FILE:
                throw TransferError.connection(String(cString: curl_easy_strerror(code)))
            default:
                throw TransferError.other(String(cString: curl_easy_strerror(code)))
            }
        }
        var status = 0
        vox_curl_response_code(handle, &status)
        return Outcome(status: status, headers: context.headers)
    }
}

private final class TransferContext {
    let sink: ([UInt8]) throws -> Void
    var sinkError: Error?
    var upload: UploadSource?
    var headers: [String: String] = [:]
    let maxBytes: Int64?
    var received: Int64 = 0
    /// Connections only to public addresses, or to one of `allowedAddresses`.
    var guardAddresses = false
    var allowedAddresses: [[UInt8]] = []
    var refusedAddress: String?

    init(sink: @escaping ([UInt8]) throws -> Void, maxBytes: Int64?) {
        self.sink = sink
        self.maxBytes = maxBytes
    }

    /// Counts what arrives against the limit (Content-Length may be absent or lie), then sinks it.
    func deliver(_ bytes: [UInt8]) throws {
        received += Int64(bytes.count)
        if let maxBytes, received > maxBytes { throw CurlHandle.TransferError.tooLarge(limit: maxBytes) }
        try sink(bytes)
    }

    /// libcurl's CURLOPT_OPENSOCKETFUNCTION: called with each address the name resolved to,
    /// before any socket exists. A refused one gets no socket, so no connection is attempted.
    func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        let family = address.pointee.family
        let bytes: [UInt8]
        switch family {
        case AF_INET:
            bytes = withUnsafePointer(to: &address.pointee.addr) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }
            }
        case AF_INET6:
            bytes = withUnsafePointer(to: &address.pointee.addr) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } }
            }
        default:
            refusedAddress = "an address of family \(family)"
            return CURL_SOCKET_BAD
        }
        guard AddressClass.isPublic(bytes) || allowedAddresses.contains(bytes) else {
            refusedAddress = AddressClass.text(bytes)
            return CURL_SOCKET_BAD
        }
        return socket(family, address.pointee.socktype, address.pointee.protocol)
    }
}

/// A byte range of a file, read with pread as curl asks for more: the file is never in memory.
private final class UploadSource {
    let descriptor: Int32
    var offset: Int64
    var remaining: Int64
    var error: Int32?

    init(_ region: FileRegion) throws {
        descriptor = open(region.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CurlHandle.TransferError.other("cannot open \(region.path): \(String(cString: strerror(errno)))")
        }
        offset = region.offset
        remaining = region.length
    }

    deinit { close(descriptor) }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        guard remaining > 0 else { return 0 }
        let count = pread(descriptor, buffer, Int(min(Int64(capacity), remaining)), off_t(offset))
        guard count > 0 else {
            error = count < 0 ? errno : EIO  // a file that shrank under us is an error too
            return Int(CURL_READFUNC_ABORT)
        }
        offset += Int64(count)
        remaining -= Int64(count)
        return count
    }
}

/// Reuses handles (and so their open connections) across requests and threads.
final class CurlPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [CurlHandle] = []
    private let keep = 8

    func with<R>(_ body: (CurlHandle) throws -> R) rethrows -> R {
        lock.lock()
        let handle = idle.popLast() ?? CurlHandle()
        lock.unlock()
        defer {
            lock.lock()
            if idle.count < keep { idle.append(handle) }
            lock.unlock()
        }
        return try body(handle)
    }
}

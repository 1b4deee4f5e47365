import CFastCGI
import Foundation

/// A FastCGI responder: a fixed pool of threads, each blocking in `FCGX_Accept_r` and serving
/// one request at a time through a synchronous handler.
///
/// Why threads and blocking calls: libfcgi is a blocking library, LMDB reads are microseconds,
/// and a request that waits for a durable commit should hold its thread, not hide the wait.
/// The pool size is the concurrency limit; nginx queues what exceeds it.
public final class FastCGIServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// A unix socket path, created (replacing a stale one) with `socketMode`.
        public var socketPath: String?
        /// `host:port` for TCP, e.g. `127.0.0.1:9000`, when asked for.
        public var tcpAddress: String?
        public var threads = 8
        public var socketMode: mode_t = 0o660
        public var backlog: Int32 = 256
        /// How long a thread waits for the next request on a connection nginx keeps open
        /// (`fastcgi_keep_conn`) before closing it. libfcgi serves a kept connection on the
        /// thread that accepted it, so an idle one holds a thread; this bounds how long.
        /// nginx's upstream `keepalive_timeout` should be shorter, so that nginx closes first.
        public var keptConnectionIdleTimeout: TimeInterval = 2
        /// The largest request body accepted for a path; more is answered 413 unread.
        public var maxBodySize: @Sendable (_ path: String) -> Int = { _ in 1 << 20 }

        public init() {}
    }

    public typealias Handler = @Sendable (Request) -> Response

    private let configuration: Configuration
    private let handler: Handler
    private var listeners: [Int32] = []
    private var threads: [Thread] = []
    private let state = NSCondition()
    private var inFlight = 0
    private var stopping = false
    private var runningThreads = 0

    public init(configuration: Configuration, handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// Opens the sockets and starts the pool. Returns at once.
    public func start() throws {
        _ = FastCGIServer.initialize
        if let path = configuration.socketPath {
            unlink(path)
            let fd = FCGX_OpenSocket(path, configuration.backlog)
            guard fd >= 0 else { throw ServerError.cannotListen(path, errno: errno) }
            chmod(path, configuration.socketMode)
            listeners.append(fd)
        }
        if let address = configuration.tcpAddress {
            let fd = FCGX_OpenSocket(address, configuration.backlog)
            guard fd >= 0 else { throw ServerError.cannotListen(address, errno: errno) }
            listeners.append(fd)
        }
        guard !listeners.isEmpty else { throw ServerError.nothingToListenOn }
        for listener in listeners {
            for index in 0..<max(1, configuration.threads) {
                let local = listener == listeners.first && configuration.socketPath != nil
                let thread = Thread { [self] in acceptLoop(listener, unixSocket: local) }
                thread.name = "fcgi-\(listener)-\(index)"
                thread.stackSize = 1 << 20
                threads.append(thread)
                state.lock()
                runningThreads += 1
                state.unlock()
                thread.start()
            }
        }
    }

    /// Stops accepting, lets requests in flight finish (up to `gracePeriod`), and removes the
    /// unix socket. Threads idle in accept are woken by shutting the listening sockets down.
    public func stop(gracePeriod: TimeInterval = 30) {
        state.lock()
        stopping = true
        state.unlock()
        for fd in listeners { shutdown(fd, Int32(SHUT_RDWR)) }
        let deadline = Date().addingTimeInterval(gracePeriod)
        state.lock()
        while inFlight > 0 && Date() < deadline {
            _ = state.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
        }
        state.unlock()
        for fd in listeners { close(fd) }
        if let path = configuration.socketPath { unlink(path) }
    }

    /// How many requests are being served right now.
    public var requestsInFlight: Int {
        state.lock()
        defer { state.unlock() }
        return inFlight
    }

    private static let initialize: Void = {
        FCGX_Init()
        // libfcgi only installs its SIGPIPE handler over SIG_DFL; ignore it outright so that a
        // client that went away is an EPIPE on write, not a dead worker.
        signal(SIGPIPE, SIG_IGN)
    }()

    private func acceptLoop(_ listener: Int32, unixSocket: Bool) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer {
            FCGX_Free(request, 1)
            request.deallocate()
            state.lock()
            runningThreads -= 1
            state.unlock()
        }
        guard FCGX_InitRequest(request, listener, 0) == 0 else { return }
        while true {
            state.lock()
            let shouldStop = stopping
            state.unlock()
            if shouldStop { return }
            guard FCGX_Accept_r(request) >= 0 else { return }
            state.lock()
            inFlight += 1
            state.unlock()
            if request.pointee.keepConnection != 0 {
                Self.setReceiveTimeout(request.pointee.ipcFd, configuration.keptConnectionIdleTimeout)
            }
            let inputConsumed = serve(request)
            // The unread rest of a refused body would be taken for the next request: such a
            // connection is closed, not kept.
            if !inputConsumed { request.pointee.keepConnection = 0 }
            let kept = request.pointee.keepConnection != 0
            // libfcgi closes a connection by shutting down its side and then waiting (select,
            // up to 2 s) for nginx to close first, so that unread input cannot reset the
            // connection and lose the response. When the whole request was read from a unix
            // socket there is nothing to lose (the peer reads what was sent, then EOF), so the
            // thread closes at once and is free for the next request instead of waiting a round
            // trip on nginx. FCGX_Detach only marks the request so that its close skips the
            // wait. A refused body (413) was not read: that close still lingers.
            // A kept connection is not closed here at all.
            if unixSocket && inputConsumed && !kept { _ = FCGX_Detach(request) }
            FCGX_Finish_r(request)
            state.lock()
            inFlight -= 1
            state.broadcast()
            state.unlock()
        }
    }

    /// Bounds every read on the connection, the wait for its next request among them: when it
    /// expires, libfcgi's read fails, it closes the connection and the thread accepts anew.
    /// nginx has read the request body in full before passing it on (request buffering), so a
    /// read in the middle of a request never waits this long on a live connection.
    private static func setReceiveTimeout(_ fd: Int32, _ seconds: TimeInterval) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Answers one request. Returns whether its whole input was read.
    private func serve(_ raw: UnsafeMutablePointer<FCGX_Request>) -> Bool {
        let params = Self.readParams(raw.pointee.envp)
        let exchange = Exchange(request: raw)
        let path = params["DOCUMENT_URI"] ?? "/"
        let limit = configuration.maxBodySize(path)
        let declared = params["CONTENT_LENGTH"].flatMap(Int.init)
        if let declared, declared > limit {
            exchange.send(Self.tooLarge(limit))
            return false
        }
        guard let body = exchange.readBody(limit: limit, declared: declared) else {
            exchange.send(Self.tooLarge(limit))
            return false
        }
        exchange.send(handler(Request(cgi: params, body: body)))
        return true
    }

    private static func tooLarge(_ limit: Int) -> Response {
        .text("Request body too large: the limit here is \(limit) bytes.\n", status: .payloadTooLarge)
    }

    /// `NAME=value` C strings into a dictionary, splitting at the first `=` by byte (a
    /// `Character` search would run grapheme breaking over every parameter of every request).
    private static func readParams(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
        var params: [String: String] = [:]
        params.reserveCapacity(32)
        var cursor = envp
        while let entry = cursor?.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let all = UnsafeBufferPointer(start: bytes, count: length)
                if let equals = all.firstIndex(of: UInt8(ascii: "=")) {
                    params[String(decoding: all[..<equals], as: UTF8.self)] = String(decoding: all[(equals + 1)...], as: UTF8.self)
                }
            }
            cursor = cursor! + 1
        }
        return params
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(String, errno: Int32)
    case nothingToListenOn

    public var description: String {
        switch self {
        case let .cannotListen(address, code): "cannot listen on \(address): \(String(cString: strerror(code)))"
        case .nothingToListenOn: "no unix socket or TCP address configured"
        }
    }
}

/// The streams of one accepted request. Lives only while the request is being served.
private struct Exchange {
    let request: UnsafeMutablePointer<FCGX_Request>

    /// The whole body, or nil when it is longer than `limit`. Reads to EOF rather than trusting
    /// CONTENT_LENGTH, which a chunked request does not have; the declared length only sizes
    /// the buffer, so that a small body is one allocation and no copying.
    func readBody(limit: Int, declared: Int?) -> [UInt8]? {
        var body: [UInt8] = []
        var size = min(limit, max(0, declared ?? 16 * 1024)) + 1
        while true {
            var read = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                read = Int(buffer.withMemoryRebound(to: CChar.self) {
                    FCGX_GetStr($0.baseAddress, Int32($0.count), request.pointee.in)
                })
                count = max(0, read)
            }
            if body.isEmpty { body = chunk } else { body += chunk }
            if body.count > limit { return nil }
            // FCGX_GetStr returns less than asked only at the end of the input.
            if read < size { return body }
            size = 64 * 1024
        }
    }

    func send(_ response: Response) {
        let writer = StreamWriter(stream: request.pointee.out)
        do {
            try writer.write(response.head())
            switch response.body {
            case let .bytes(bytes): try writer.write(bytes)
            case let .stream(produce): try produce(writer)
            }
        } catch {
            // The client went away mid-body; nothing is left to tell it.
        }
    }
}

private struct StreamWriter: BodyWriter {
    let stream: UnsafeMutablePointer<FCGX_Stream>?

    struct ClientGone: Error {}

    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { FCGX_PutStr($0.baseAddress, Int32($0.count), stream) }
        }
        if written < 0 { throw ClientGone() }
    }
}

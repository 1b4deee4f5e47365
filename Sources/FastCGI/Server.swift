import CFastCGI
import Foundation
import Threads

/// A FastCGI responder: one poller thread that accepts connections and watches them for
/// requests (epoll), and a pool of threads that read, answer and finish those requests.
///
/// Why not libfcgi's own loop (a thread blocked in `FCGX_Accept_r` per connection): nginx
/// keeps its connections to the worker open (`fastcgi_keep_conn`), and libfcgi serves a kept
/// connection on the thread that accepted it, so an idle connection held a thread, and every
/// request woke a thread of its own twice, once for its bytes and once for its commit. Here a
/// connection waits in epoll, not on a thread; libfcgi still does all of the protocol, on
/// whichever thread takes the connection when it is readable.
///
/// A handler answers synchronously, or with `Response.later` when its answer waits on
/// something (a durable commit): the thread goes on to other requests, and the response is
/// sent by a pool thread once it comes. The pool size is the limit on handlers running at
/// once, so a slow page cannot take every thread from the webhooks for long.
public final class FastCGIServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// A unix socket path, created (replacing a stale one) with `socketMode`.
        public var socketPath: String?
        /// `host:port` for TCP, e.g. `127.0.0.1:9000`, when asked for.
        public var tcpAddress: String?
        public var threads = 8
        public var socketMode: mode_t = 0o660
        public var backlog: Int32 = 256
        /// How long a read may wait on a connection in the middle of a request before the
        /// connection is given up: nginx sends a request whole (it buffers request bodies),
        /// so only a broken peer makes a thread wait this long.
        public var readTimeout: TimeInterval = 10
        /// The largest request body accepted for a path; more is answered 413 unread.
        public var maxBodySize: @Sendable (_ path: String) -> Int = { _ in 1 << 20 }
        /// A body declared larger than this (CONTENT_LENGTH) is a large one; see
        /// `maxConcurrentLargeBodies`.
        public var largeBodyThreshold = 1 << 20
        /// How many large bodies may be read and handled at once; one more is answered 503
        /// (`Retry-After: 5`) unread, and its connection closed. A body is held in memory
        /// whole, and a path may take 64 MiB (ElevenLabs' `post_call_audio`): without a cap,
        /// an outsider posting many such bodies at once would make the worker hold them all,
        /// each twice over while the handler decodes it, and exhaust its memory. nginx's
        /// per-address limits do not stop one sender using many addresses.
        public var maxConcurrentLargeBodies = 2

        public init() {}
    }

    public typealias Handler = @Sendable (Request) -> Response

    private let configuration: Configuration
    private let handler: Handler
    private let work = WorkQueue()
    private let poller: Poller
    private var listeners: [(fd: Int32, isUnixSocket: Bool)] = []
    private var pollerThread: JoinableThread?
    private var pool: [JoinableThread] = []
    private let state = NSCondition()
    /// Requests read and not yet answered.
    private var inFlight = 0
    /// Connections handed out by the poller and not yet back in it or closed: also those whose
    /// request is still being read. `stop` waits for none to be left.
    private var active = 0
    private var largeBodies = 0
    private var draining = false

    public init(configuration: Configuration, handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
        self.poller = Poller()
    }

    /// Opens the sockets and starts the threads. Returns at once.
    public func start() throws {
        _ = FastCGIServer.initialize
        if let path = configuration.socketPath {
            unlink(path)
            let fd = FCGX_OpenSocket(path, configuration.backlog)
            guard fd >= 0 else { throw ServerError.cannotListen(path, errno: errno) }
            chmod(path, configuration.socketMode)
            listeners.append((fd, true))
        }
        if let address = configuration.tcpAddress {
            let fd = FCGX_OpenSocket(address, configuration.backlog)
            guard fd >= 0 else { throw ServerError.cannotListen(address, errno: errno) }
            listeners.append((fd, false))
        }
        guard !listeners.isEmpty else { throw ServerError.nothingToListenOn }
        for listener in listeners { try poller.listen(listener.fd, isUnixSocket: listener.isUnixSocket) }

        let readTimeout = configuration.readTimeout
        pollerThread = try JoinableThread(name: "fcgi-poller") { [self] in
            poller.run(
                accepted: { connection in Self.setReceiveTimeout(connection.fd, readTimeout) },
                readable: { [self] connection in
                    changeCounts(active: +1)
                    work.push(.read(connection))
                })
        }
        for index in 0..<max(1, configuration.threads) {
            pool.append(try JoinableThread(name: "fcgi-\(index)", stackSize: 1 << 20) { [self] in
                while let next = work.pop() { perform(next) }
            })
        }
    }

    /// Stops, in this order, so that nothing is torn down under a request:
    /// 1. no new connections or requests: the listening sockets close and the unix socket is
    ///    removed, so nginx's next connect fails at once instead of waiting in the backlog, and
    ///    idle kept connections close (a request nginx sends on one goes to its next upstream);
    /// 2. requests already taken are read, handled and answered, a later response included,
    ///    each connection closing after its answer, for up to `gracePeriod`;
    /// 3. the threads end, and are waited for.
    ///
    /// Returns false when requests were still running at the deadline. Their threads are left
    /// running then, and the caller should end the process without tearing anything down.
    @discardableResult
    public func stop(gracePeriod: TimeInterval = 30) -> Bool {
        if let path = configuration.socketPath { unlink(path) }
        state.lock()
        draining = true
        state.unlock()
        poller.drain()
        pollerThread?.join()
        for listener in listeners { close(listener.fd) }
        listeners = []

        let deadline = Date().addingTimeInterval(gracePeriod)
        state.lock()
        while active > 0 && Date() < deadline { _ = state.wait(until: deadline) }
        let finished = active == 0
        state.unlock()
        guard finished else { return false }
        work.close()
        pool.forEach { $0.join() }
        return true
    }

    /// How many requests are being served right now, answers still to come included.
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
        // libfcgi allocates two 8 KiB stream buffers for every request, and glibc begins every
        // allocation that large by consolidating its "fast bins" of small freed blocks, which
        // the Swift runtime keeps full: 3% of the worker's time under webhook load. Without
        // fast bins, small blocks still come from the per-thread cache, and the rest are
        // merged as they are freed instead of all at once.
        mallopt(M_MXFAST, 0)
    }()

    private func perform(_ next: Work) {
        switch next {
        case let .read(connection):
            // False: nginx closed the connection (libfcgi has closed it too).
            guard connection.readRequest() else { return changeCounts(active: -1) }
            changeCounts(inFlight: +1)
            let response = serve(connection)
            if case let .later(later) = response.body {
                later.whenReady { [work] in work.push(.send(connection, later)) }
            } else {
                respond(connection, response)
            }
        case let .send(connection, later):
            respond(connection, later.response ?? .later(later))
        }
    }

    private func respond(_ connection: Connection, _ response: Response) {
        connection.send(response.settledOrError())
        state.lock()
        let keepOpen = !draining
        state.unlock()
        connection.finish(keepOpen: keepOpen)
        let large = connection.holdsLargeBody
        connection.holdsLargeBody = false
        // Back to the poller for its next request (from here on another thread may have it);
        // a draining poller refuses it.
        if connection.isOpen && !poller.watch(connection) { connection.close() }
        changeCounts(inFlight: -1, active: -1, largeBodies: large ? -1 : 0)
    }

    private func changeCounts(inFlight: Int = 0, active: Int = 0, largeBodies: Int = 0) {
        state.lock()
        self.inFlight += inFlight
        self.active += active
        self.largeBodies += largeBodies
        if self.active == 0 { state.broadcast() }
        state.unlock()
    }

    /// A slot for one more large body, if there is one.
    private func reserveLargeBody() -> Bool {
        state.lock()
        defer { state.unlock() }
        guard largeBodies < configuration.maxConcurrentLargeBodies else { return false }
        largeBodies += 1
        return true
    }

    /// Reads the request and asks the handler. A body over the path's limit, or a large one
    /// while `maxConcurrentLargeBodies` are in hand, is refused unread.
    private func serve(_ connection: Connection) -> Response {
        let head = connection.head
        let limit = configuration.maxBodySize(head.documentURI ?? "/")
        let declared = head.contentLength.flatMap(Int.init)
        connection.inputConsumed = true
        if let declared, declared > limit {
            connection.inputConsumed = false
            return Self.tooLarge(limit)
        }
        if let declared, declared > configuration.largeBodyThreshold {
            guard reserveLargeBody() else {
                connection.inputConsumed = false
                return Self.busyWithLargeBodies
            }
            connection.holdsLargeBody = true
        }
        guard let body = connection.readBody(limit: limit, declared: declared) else {
            connection.inputConsumed = false
            return Self.tooLarge(limit)
        }
        return handler(Request(head: head, body: body))
    }

    private static func tooLarge(_ limit: Int) -> Response {
        .text("Request body too large: the limit here is \(limit) bytes.\n", status: .payloadTooLarge)
    }

    private static let busyWithLargeBodies: Response = {
        var response = Response.text("Too many large request bodies at once; try again in a few seconds.\n",
                                     status: .serviceUnavailable)
        response.addHeader("Retry-After", "5")
        return response
    }()

    private static func setReceiveTimeout(_ fd: Int32, _ seconds: TimeInterval) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}

extension Response {
    /// What is sent: a response still to come at that point (a later one nested in another,
    /// a handler bug) has no thread left to wait for it, so it becomes a 500.
    func settledOrError() -> Response {
        if case .later = body {
            return .text("The response was never completed.\n", status: .internalServerError)
        }
        return self
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(String, errno: Int32)
    case nothingToListenOn
    case epoll(String, errno: Int32)

    public var description: String {
        switch self {
        case let .cannotListen(address, code): "cannot listen on \(address): \(String(cString: strerror(code)))"
        case .nothingToListenOn: "no unix socket or TCP address configured"
        case let .epoll(call, code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

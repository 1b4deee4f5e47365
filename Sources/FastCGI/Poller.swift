import CFastCGI
import Foundation

/// The server's epoll set: the listening sockets, and the idle connections waiting for their
/// next request. A connection is watched one-shot: once readable it is handed out and leaves
/// the set, and it is not reported again until `watch` puts it back after its request is
/// answered, so no two threads ever read the same connection.
///
/// Connections are found by fd. Only idle ones are kept here, and an idle connection is
/// open (nobody else can close it), so an fd number in the set is never a stale one.
final class Poller: @unchecked Sendable {
    private let epoll: Int32
    /// Written to by `drain` to wake `run`.
    private let wake: (read: Int32, write: Int32)
    private let lock = NSLock()
    private var idle: [Int32: Connection] = [:]
    private var listeners: [Int32: Bool] = [:]
    private var draining = false

    init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        wake = (fds[0], fds[1])
        register(wake.read, events: EPOLLIN.rawValue, operation: EPOLL_CTL_ADD)
    }

    deinit {
        close(epoll)
        close(wake.read)
        close(wake.write)
    }

    /// Watches a listening socket for connections to accept.
    func listen(_ fd: Int32, isUnixSocket: Bool) throws {
        guard epoll >= 0 else { throw ServerError.epoll("epoll_create1", errno: errno) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        lock.lock()
        listeners[fd] = isUnixSocket
        lock.unlock()
        guard register(fd, events: EPOLLIN.rawValue, operation: EPOLL_CTL_ADD) else {
            throw ServerError.epoll("epoll_ctl", errno: errno)
        }
    }

    /// Until `drain`: accepts connections (`accepted` sees each first) and hands out those
    /// with a request to read. On `drain` it closes every idle connection and returns; the
    /// listening sockets are no longer used from then on, and their owner may close them.
    func run(accepted: (Connection) -> Void, readable: (Connection) -> Void) {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), -1)
            if count < 0 && errno != EINTR { return }
            lock.lock()
            if draining {
                let open = Array(idle.values)
                idle = [:]
                lock.unlock()
                // Idle: no request of theirs has been read, so nothing is lost. nginx sends a
                // request that meets the closed connection to the next upstream.
                open.forEach { $0.close() }
                return
            }
            lock.unlock()
            for event in events.prefix(Int(max(0, count))) {
                let fd = event.data.fd
                lock.lock()
                let listener = listeners[fd]
                let connection = idle.removeValue(forKey: fd)
                lock.unlock()
                if let isUnixSocket = listener {
                    acceptAll(fd, isUnixSocket: isUnixSocket, accepted)
                } else if let connection {
                    readable(connection)
                }
            }
        }
    }

    private func acceptAll(_ listener: Int32, isUnixSocket: Bool, _ accepted: (Connection) -> Void) {
        while true {
            // Accepted sockets are blocking (Linux does not pass O_NONBLOCK on from the
            // listener): libfcgi reads a request with plain reads once epoll says it is there.
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // EAGAIN: none left; anything else: try again on the next event.
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let connection = Connection(fd: fd, isUnixSocket: isUnixSocket)
            accepted(connection)
            lock.lock()
            idle[fd] = connection
            register(fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_ADD)
            lock.unlock()
        }
    }

    /// Puts a kept connection back after its request: it is handed out again when readable.
    /// False once draining: the caller closes it instead.
    func watch(_ connection: Connection) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !draining else { return false }
        idle[connection.fd] = connection
        register(connection.fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_MOD)
        return true
    }

    /// No more connections or requests: `run` closes the idle connections and returns, and
    /// `watch` refuses the connections that are being served.
    func drain() {
        lock.lock()
        draining = true
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    @discardableResult
    private func register(_ fd: Int32, events: UInt32, operation: Int32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        return epoll_ctl(epoll, operation, fd, &event) == 0
    }
}

import CFastCGI
import Foundation

/// The server's epoll set: the listening sockets, and the open connections waiting for their
/// next request. A connection is watched one-shot: once readable it is handed out, and it is
/// not reported again until `watch` re-arms it after its request is answered, so no two
/// threads ever read the same connection.
///
/// Connections are found by fd. An fd number is reused as soon as it is closed, so removing
/// one checks that the registered connection is still the same object.
final class Poller: @unchecked Sendable {
    private let epoll: Int32
    /// Written to by `stop` to end `run`.
    private let wake: (read: Int32, write: Int32)
    private let lock = NSLock()
    private var connections: [Int32: Connection] = [:]
    private var listeners: [Int32: Bool] = [:]
    private var running = true

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

    /// Until `stop`: accepts connections (`accepted` sees each first) and hands out those
    /// with a request to read.
    func run(accepted: (Connection) -> Void, readable: (Connection) -> Void) {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), -1)
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            for event in events.prefix(Int(count)) {
                let fd = event.data.fd
                lock.lock()
                let isRunning = running
                let listener = listeners[fd]
                let connection = connections[fd]
                lock.unlock()
                if !isRunning { return }
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
            connections[fd] = connection
            lock.unlock()
            register(fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_ADD)
        }
    }

    /// Re-arms a kept connection after its request: it is handed out again when readable.
    func watch(_ connection: Connection) {
        register(connection.fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_MOD)
    }

    /// Drops a connection that has ended (libfcgi closed it).
    func forget(_ connection: Connection) {
        lock.lock()
        if connections[connection.fd] === connection { connections[connection.fd] = nil }
        lock.unlock()
    }

    /// No more connections: the listening sockets leave the set.
    func stopAccepting() {
        lock.lock()
        let fds = Array(listeners.keys)
        listeners = [:]
        lock.unlock()
        for fd in fds { _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil) }
    }

    /// Ends `run` and closes every connection still open.
    func stop() {
        lock.lock()
        running = false
        let open = connections
        connections = [:]
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        _ = open  // released here: each closes its socket
    }

    @discardableResult
    private func register(_ fd: Int32, events: UInt32, operation: Int32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        return epoll_ctl(epoll, operation, fd, &event) == 0
    }
}

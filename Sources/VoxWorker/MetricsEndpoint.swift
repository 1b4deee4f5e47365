import Foundation
import Logging
import Threads

/// The Prometheus listener: a loopback (by default) TCP port that answers `GET /metrics` and
/// nothing else, one connection at a time, outside nginx and outside the FastCGI pool, so a
/// scrape neither needs a session nor competes with requests. HTTP/1.0-style: one request per
/// connection, closed after the answer.
final class MetricsEndpoint: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let listener: Int32
    private let render: @Sendable () -> [UInt8]
    private let logger: Logger
    private var thread: JoinableThread?
    let port: UInt16

    /// `address` is `IPv4:port`; port 0 picks a free one (tests).
    init(address: String, logger: Logger, render: @escaping @Sendable () -> [UInt8]) throws {
        let parts = address.split(separator: ":")
        var socketAddress = sockaddr_in()
        guard parts.count == 2, let port = UInt16(parts[1]), inet_pton(AF_INET, String(parts[0]), &socketAddress.sin_addr) == 1 else {
            throw Failure(description: "VOXFCGI_METRICS_LISTEN=\(address.prefix(60)) is not IPv4:port")
        }
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "metrics socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot listen for metrics on \(address): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        self.port = UInt16(bigEndian: actual.sin_port)
        listener = descriptor
        self.render = render
        self.logger = logger
    }

    func start() throws {
        thread = try JoinableThread(name: "metrics") { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return  // the listener was shut down: stopping
                }
                serve(connection)
                close(connection)
            }
        }
    }

    /// Stops accepting and waits for the answer in progress.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        thread?.join()
        close(listener)
    }

    private func serve(_ connection: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        // The request head only; anything after it (a body) is ignored.
        while head.count < 8192, !head.ends(with: [13, 10, 13, 10]) {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            head += buffer[0..<count]
            if head.count >= 4, let end = head.firstRange(of: [13, 10, 13, 10]) { head = Array(head[..<end.upperBound]); break }
        }
        let requestLine = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self)
        let response: [UInt8]
        if requestLine.hasPrefix("GET /metrics ") || requestLine == "GET /metrics" {
            let body = render()
            response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        } else {
            response = Array("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 25\r\nConnection: close\r\n\r\nonly GET /metrics is here".utf8)
        }
        var sent = 0
        while sent < response.count {
            let count = response.withUnsafeBytes { send(connection, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

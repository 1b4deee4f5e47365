import Foundation

/// A FastCGI client over a unix socket, speaking to the server as nginx does (one request
/// at a time per connection, kept open when asked): for tests of the real server.
final class FastCGIClient {
    struct Answer {
        var head: String
        var body: String
        var status: Int? { Int(head.split(separator: " ").dropFirst().first ?? "") }
        func header(_ name: String) -> String? {
            for line in head.split(separator: "\r\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 && parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32

    /// Connects, with `timeout` on every read, so that a test fails instead of hanging.
    init(socketPath: String, timeout: TimeInterval = 10) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(socketPath.utf8.prefix(raw.count - 1)) + [0])
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect: \(String(cString: strerror(code)))")
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends one request; its body declared in CONTENT_LENGTH, as nginx does.
    func send(path: String, method: String = "POST", body: [UInt8] = []) throws {
        var message = Self.record(1, [0, 1, 1, 0, 0, 0, 0, 0])  // BEGIN_REQUEST: responder, keep the connection
        let params = ["REQUEST_METHOD": method, "DOCUMENT_URI": path, "REQUEST_URI": path, "QUERY_STRING": "",
                      "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": String(body.count),
                      "CONTENT_TYPE": "application/octet-stream"]
        var pairs: [UInt8] = []
        for (name, value) in params {
            for length in [name.utf8.count, value.utf8.count] {
                pairs += length < 128 ? [UInt8(length)] : withUnsafeBytes(of: (UInt32(length) | 0x8000_0000).bigEndian, Array.init)
            }
            pairs += Array(name.utf8) + Array(value.utf8)
        }
        message += Self.record(4, pairs) + Self.record(4, [])
        for start in stride(from: 0, to: body.count, by: 65535) {
            message += Self.record(5, Array(body[start..<min(body.count, start + 65535)]))
        }
        message += Self.record(5, [])
        try write(message)
    }

    /// The answer, up to END_REQUEST.
    func answer() throws -> Answer {
        var output: [UInt8] = []
        while true {
            let header = try read(8)
            let length = Int(header[4]) << 8 | Int(header[5])
            let content = try read(length + Int(header[6]))
            if header[1] == 6 { output += content.prefix(length) }
            if header[1] == 3 { break }
        }
        let text = String(decoding: output, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        return Answer(head: parts[0], body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Whether the server closes the connection within the read timeout.
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        var got = recv(fd, &byte, 1, 0)
        while got < 0 && errno == EINTR { got = recv(fd, &byte, 1, 0) }
        return got == 0
    }

    private static func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0] + content
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += count
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            // A signal (Foundation's SIGCHLD handler, when another test's subprocess ends) cuts
            // a read that has a timeout short even with SA_RESTART (signal(7)): read on.
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw Failure(description: got == 0 ? "closed by the server" : "no answer in time") }
            done += got
        }
        return bytes
    }
}

import CFastCGI
import Foundation

/// One connection from nginx and libfcgi's request state for it. libfcgi reads a request
/// from the connection's socket, `FCGX_Finish_r` ends it and, if nginx asked to keep the
/// connection, leaves it open for the next one.
///
/// Concurrency: a connection is touched by one thread at a time. It is handed from the poller
/// to a thread through the work queue, and from a commit's completion back to a thread the
/// same way; between requests only the poller holds it, waiting for it to become readable.
final class Connection: @unchecked Sendable {
    let request: UnsafeMutablePointer<FCGX_Request>
    let fd: Int32
    let isUnixSocket: Bool
    /// Whether the current request's body was read in full: a refused one was not.
    var inputConsumed = true
    /// Whether the current request counts against `maxConcurrentLargeBodies`.
    var holdsLargeBody = false

    init(fd: Int32, isUnixSocket: Bool) {
        self.fd = fd
        self.isUnixSocket = isUnixSocket
        request = .allocate(capacity: 1)
        // No listening socket: when the connection ends, libfcgi's attempt to accept another
        // on it fails at once (EBADF) instead of blocking this thread in accept.
        FCGX_InitRequest(request, -1, 0)
        request.pointee.ipcFd = fd
        // `FCGX_Accept_r` begins by finishing the previous request, closing the connection
        // unless it was to be kept: this one is, until its first request says otherwise.
        request.pointee.keepConnection = 1
    }

    deinit {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    /// Reads the next request's parameters. False when the connection ended instead (nginx
    /// closed it, or sent something that is not FastCGI); libfcgi has closed it then.
    func readRequest() -> Bool {
        FCGX_Accept_r(request) >= 0
    }

    /// Whether the connection is still open after `finish`.
    var isOpen: Bool { request.pointee.ipcFd >= 0 }

    /// The request's CGI parameters.
    var head: CGIHead { Self.readHead(request.pointee.envp) }

    /// Ends the request. The connection stays open if nginx asked for that, `keepOpen` allows
    /// it (not while the server stops), and the request's input was read in full: the unread
    /// rest of a refused body would be taken for the next request.
    func finish(keepOpen: Bool) {
        if !inputConsumed || !keepOpen { request.pointee.keepConnection = 0 }
        // libfcgi closes a connection by shutting down its side and then waiting (select, up
        // to 2 s) for nginx to close first, so that unread input cannot reset the connection
        // and lose the response. When the whole request was read from a unix socket there is
        // nothing to lose (the peer reads what was sent, then EOF), so the close skips that
        // wait (FCGX_Detach only marks the request so). A refused body was not read: that
        // close still lingers.
        if isUnixSocket && inputConsumed && request.pointee.keepConnection == 0 { _ = FCGX_Detach(request) }
        FCGX_Finish_r(request)
    }

    /// Closes a connection between two requests (idle, or answered and then refused by a
    /// draining poller) at once, without libfcgi's lingering close: none of its input is
    /// unread, so there is no answer that a reset could lose.
    func close() {
        guard isOpen else { return }
        _ = FCGX_Detach(request)
        FCGX_Free(request, 1)
    }

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

    /// Writes a settled response (not a `.later` one).
    func send(_ response: Response) {
        let writer = StreamWriter(stream: request.pointee.out)
        do {
            try writer.write(response.head())
            switch response.body {
            case let .bytes(bytes): try writer.write(bytes)
            case let .stream(produce): try produce(writer)
            case .later: preconditionFailure("a later response is sent once it has come")
            }
        } catch {
            // The client went away mid-body; nothing is left to tell it.
        }
    }

    /// `NAME=value` C strings, split at the first `=` by byte (a `Character` search would run
    /// grapheme breaking over every parameter of every request).
    private static func readHead(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CGIHead {
        var head = CGIHead()
        var cursor = envp
        while let entry = cursor?.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let all = UnsafeBufferPointer(start: bytes, count: length)
                if let equals = all.firstIndex(of: UInt8(ascii: "=")) {
                    head.add(name: UnsafeBufferPointer(rebasing: all[..<equals]),
                             value: UnsafeBufferPointer(rebasing: all[(equals + 1)...]))
                }
            }
            cursor = cursor! + 1
        }
        return head
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

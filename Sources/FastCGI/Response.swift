import Foundation

public struct HTTPStatus: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let ok = HTTPStatus(rawValue: 200)
    public static let created = HTTPStatus(rawValue: 201)
    public static let accepted = HTTPStatus(rawValue: 202)
    public static let noContent = HTTPStatus(rawValue: 204)
    public static let found = HTTPStatus(rawValue: 302)
    public static let seeOther = HTTPStatus(rawValue: 303)
    public static let badRequest = HTTPStatus(rawValue: 400)
    public static let unauthorized = HTTPStatus(rawValue: 401)
    public static let forbidden = HTTPStatus(rawValue: 403)
    public static let notFound = HTTPStatus(rawValue: 404)
    public static let methodNotAllowed = HTTPStatus(rawValue: 405)
    public static let conflict = HTTPStatus(rawValue: 409)
    public static let gone = HTTPStatus(rawValue: 410)
    public static let payloadTooLarge = HTTPStatus(rawValue: 413)
    public static let unsupportedMediaType = HTTPStatus(rawValue: 415)
    public static let unprocessableContent = HTTPStatus(rawValue: 422)
    public static let tooManyRequests = HTTPStatus(rawValue: 429)
    public static let internalServerError = HTTPStatus(rawValue: 500)
    public static let badGateway = HTTPStatus(rawValue: 502)
    public static let serviceUnavailable = HTTPStatus(rawValue: 503)

    public var reason: String {
        switch rawValue {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 302: "Found"
        case 303: "See Other"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Payload Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status \(rawValue)"
        }
    }
}

/// An error that becomes an HTTP response with this status and a message a person can read.
/// The message is shown to the client, so it must never carry a secret.
/// An error that knows its HTTP meaning: the status to answer with and a message that is safe
/// to show the client (never a secret, never an internal detail). Domain and upstream errors
/// conform in one place (VoxWeb's `ErrorStatus.swift`), so pages do not translate them one by
/// one (after Hummingbird's `HTTPResponseError`).
public protocol HTTPResponseError: Error {
    var status: HTTPStatus { get }
    var message: String { get }
    /// Headers the answer carries (`Allow`, `Retry-After`, `Location`).
    var headers: [(String, String)] { get }
}

extension HTTPResponseError {
    public var headers: [(String, String)] { [] }
}

public struct HTTPError: HTTPResponseError, CustomStringConvertible, Sendable {
    public let status: HTTPStatus
    public let message: String
    public var headers: [(String, String)] = []

    public init(_ status: HTTPStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.rawValue) \(message)" }
}

/// Where a streamed body goes. Backed by the FastCGI output stream in the server, by a
/// buffer in tests.
public protocol BodyWriter {
    func write(_ bytes: [UInt8]) throws
}

extension BodyWriter {
    public func write(_ text: String) throws { try write(Array(text.utf8)) }
}

public struct Response: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Produced while being sent, in constant memory (CSV export).
        case stream(@Sendable (any BodyWriter) throws -> Void)
        /// Not known yet: the whole response (status and headers too) comes when `later` is
        /// completed, and the request's thread goes on to other requests meanwhile. For an
        /// answer that waits on a durable commit (webhooks).
        case later(LaterResponse)
    }

    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: HTTPStatus = .ok, headers: [(name: String, value: String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response that `later` will give.
    public static func later(_ later: LaterResponse) -> Response { Response(body: .later(later)) }

    /// This response changed by `change`: now, or once a later one is there.
    public func amended(_ change: @escaping @Sendable (inout Response) -> Void) -> Response {
        if case let .later(later) = body {
            return .later(later.map { response in
                var response = response
                change(&response)
                return response
            })
        }
        var copy = self
        change(&copy)
        return copy
    }

    public static func html(_ html: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: [("Content-Type", "text/html; charset=utf-8")], body: .bytes(Array(html.utf8)))
    }

    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .bytes(Array(text.utf8)))
    }

    public static func json(_ value: some Encodable, status: HTTPStatus = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json")], body: .bytes(Array(data)))
    }

    /// A redirect after a form post (303), so a reload does not post again.
    public static func redirect(to location: String, status: HTTPStatus = .seeOther) -> Response {
        Response(status: status, headers: [("Location", location)])
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public mutating func addHeader(_ name: String, _ value: String) { headers.append((name, value)) }

    /// The body as bytes, draining a stream into memory: for tests.
    public func collectBody() throws -> [UInt8] {
        switch body {
        case let .bytes(bytes): return bytes
        case let .stream(produce):
            let buffer = BufferWriter()
            try produce(buffer)
            return buffer.bytes
        case let .later(later): return try later.wait().collectBody()
        }
    }

    /// The response itself, waiting for a later one: for tests and for callers that must
    /// answer in place.
    public func settled() -> Response {
        guard case let .later(later) = body else { return self }
        return later.wait().settled()
    }

    /// The CGI-style head that libfcgi expects: `Status:` then headers, then a blank line.
    /// Built byte by byte: it runs for every response, and Foundation's string replacing
    /// showed up in the webhook profile.
    func head() -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(64 + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
        head += "Status: \(status.rawValue) \(status.reason)\r\n".utf8
        for (name, value) in headers {
            head += name.utf8
            head += ": ".utf8
            // Header injection guard: a value must never end the header block.
            for byte in value.utf8 where byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\n") {
                head.append(byte)
            }
            head += "\r\n".utf8
        }
        head += "\r\n".utf8
        return head
    }
}

/// A response to come. Whoever has it (a commit's completion) calls `complete`; the server
/// learns through `whenReady` that it is there, and reads `response` on one of its own
/// threads. Changes added with `map` (headers, the request's log line) run when `response`
/// is read, not on the completing thread: that one is the database writer, which every
/// webhook waits on.
public final class LaterResponse: @unchecked Sendable {
    private let cell: Cell
    private let transforms: [@Sendable (Response) -> Response]

    public convenience init() { self.init(cell: Cell(), transforms: []) }

    private init(cell: Cell, transforms: [@Sendable (Response) -> Response]) {
        self.cell = cell
        self.transforms = transforms
    }

    /// Gives the response. Only the first completion counts.
    public func complete(_ response: Response) { cell.complete(response) }

    /// The same response to come, changed by `transform` once it is there.
    public func map(_ transform: @escaping @Sendable (Response) -> Response) -> LaterResponse {
        LaterResponse(cell: cell, transforms: transforms + [transform])
    }

    /// Calls `ready` once the response is there: at once if it is, else on the completing
    /// thread. `ready` should only hand the news on.
    public func whenReady(_ ready: @escaping @Sendable () -> Void) { cell.whenReady(ready) }

    /// The response with every change applied, once it is there.
    public var response: Response? {
        cell.response.map { response in transforms.reduce(response) { $1($0) } }
    }

    /// Blocks until the response is there: for tests and for callers that must answer in place.
    public func wait() -> Response {
        let ready = DispatchSemaphore(value: 0)
        whenReady { ready.signal() }
        ready.wait()
        return response!
    }

    private final class Cell: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Response?
        private var ready: [@Sendable () -> Void] = []

        var response: Response? {
            lock.lock()
            defer { lock.unlock() }
            return value
        }

        func complete(_ response: Response) {
            lock.lock()
            guard value == nil else { lock.unlock(); return }
            value = response
            let waiting = ready
            ready = []
            lock.unlock()
            waiting.forEach { $0() }
        }

        func whenReady(_ callback: @escaping @Sendable () -> Void) {
            lock.lock()
            if value != nil {
                lock.unlock()
                callback()
            } else {
                ready.append(callback)
                lock.unlock()
            }
        }
    }
}

final class BufferWriter: BodyWriter {
    var bytes: [UInt8] = []
    func write(_ bytes: [UInt8]) throws { self.bytes += bytes }
}

public struct Cookie: Sendable {
    public var name: String
    public var value: String
    public var maxAge: Int?
    public var path = "/"
    public var httpOnly = true
    public var secure = false
    public var sameSite = "Lax"

    public init(name: String, value: String, maxAge: Int? = nil, secure: Bool = false) {
        self.name = name
        self.value = value
        self.maxAge = maxAge
        self.secure = secure
    }

    public var headerValue: String {
        var parts = ["\(name)=\(value)", "Path=\(path)"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if httpOnly { parts.append("HttpOnly") }
        if secure { parts.append("Secure") }
        parts.append("SameSite=\(sameSite)")
        return parts.joined(separator: "; ")
    }
}

extension Response {
    public mutating func setCookie(_ cookie: Cookie) { addHeader("Set-Cookie", cookie.headerValue) }
}

extension Response {
    /// The head as the server writes it: for tests of header handling.
    public func collectHead() -> String { String(decoding: head(), as: UTF8.self) }
}

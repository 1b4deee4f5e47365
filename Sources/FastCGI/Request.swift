import Essentials
import Foundation

/// An HTTP request as nginx handed it over FastCGI: CGI parameters already copied into Swift
/// values (libfcgi's buffers die with the request), body read in full up to its limit.
public struct Request: Sendable {
    public let method: String
    /// The decoded path without the query (nginx's DOCUMENT_URI).
    public let path: String
    public let query: Parameters
    /// Header names lower-cased, `-` not `_` (`content-type`, `x-request-id`).
    public let headers: [String: String]
    public let cookies: [String: String]
    public let body: [UInt8]
    public let remoteAddress: String
    /// nginx sets HTTPS=on when the client connection is TLS.
    public let isHTTPS: Bool

    public init(
        method: String, path: String, query: Parameters = Parameters(), headers: [String: String] = [:],
        body: [UInt8] = [], remoteAddress: String = "127.0.0.1", isHTTPS: Bool = false
    ) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        self.headers = headers
        self.cookies = Request.parseCookies(headers["cookie"] ?? "")
        self.body = body
        self.remoteAddress = remoteAddress
        self.isHTTPS = isHTTPS
    }

    /// Builds a request from FastCGI/CGI parameters (`REQUEST_METHOD`, `HTTP_*`, …).
    public init(cgi params: [String: String], body: [UInt8]) {
        var head = CGIHead()
        for (name, value) in params {
            var name = name, value = value
            name.withUTF8 { name in value.withUTF8 { value in head.add(name: name, value: value) } }
        }
        self.init(head: head, body: body)
    }

    init(head: CGIHead, body: [UInt8]) {
        var headers = head.headers
        if let type = head.contentType, !type.isEmpty { headers["content-type"] = type }
        if let length = head.contentLength, !length.isEmpty { headers["content-length"] = length }
        let uri = head.requestURI ?? "/"
        let path = head.documentURI
            ?? String(uri.prefix { $0 != "?" }).removingPercentEncoding
            ?? "/"
        self.init(
            method: head.method ?? "GET", path: path,
            query: Parameters(urlEncoded: head.queryString ?? ""), headers: headers, body: body,
            remoteAddress: head.remoteAddress ?? "", isHTTPS: head.https?.lowercased() == "on")
    }

    /// `HTTP_X_REQUEST_ID` → `x-request-id`, byte by byte: this runs for every header of
    /// every request, and Foundation's string search showed up in the webhook profile.
    static func headerName(cgi name: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: name.count) { buffer in
            for (index, byte) in name.enumerated() {
                buffer[index] = byte == UInt8(ascii: "_") ? UInt8(ascii: "-") : asciiLowercased(byte)
            }
            return name.count
        }
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// The media type without parameters, lower-cased (`application/json`). By byte: every
    /// webhook asks, and Foundation's trimming showed up in its profile.
    public var contentType: String {
        guard let header = headers["content-type"] else { return "" }
        let type = header.utf8.prefix { $0 != UInt8(ascii: ";") }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let trimmed = type.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        return String(decoding: trimmed.map(Request.asciiLowercased), as: UTF8.self)
    }

    /// The urlencoded form body. Other content types are a 415, not an empty form.
    public func form() throws -> Parameters {
        guard contentType == "application/x-www-form-urlencoded" else {
            throw HTTPError(.unsupportedMediaType, "expected a form (application/x-www-form-urlencoded)")
        }
        return Parameters(urlEncoded: String(decoding: body, as: UTF8.self))
    }

    /// The JSON body decoded as `T`; a body that is not JSON or not of that shape is a 400
    /// that says where it went wrong.
    public func json<T: Decodable>(_ type: T.Type) throws -> T {
        guard contentType == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "expected application/json")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, "malformed JSON: \(error.readableDescription)")
        } catch {
            throw HTTPError(.badRequest, "malformed JSON")
        }
    }

    static func parseCookies(_ header: String) -> [String: String] {
        var cookies: [String: String] = [:]
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            // The first cookie of a name wins, as browsers send the most specific path first.
            if cookies[name] == nil {
                cookies[name] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return cookies
    }
}

extension DecodingError {
    /// "at calls[2].duration: expected Int" rather than Foundation's debug dump.
    var readableDescription: String {
        func path(_ context: Context) -> String {
            let path = context.codingPath.map { key in
                key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)"
            }.joined()
            return path.isEmpty ? "top level" : String(path.drop { $0 == "." })
        }
        switch self {
        case let .typeMismatch(type, context): return "at \(path(context)): expected \(type)"
        case let .valueNotFound(type, context): return "at \(path(context)): missing \(type) value"
        case let .keyNotFound(key, context):
            let parent = path(context)
            return "missing field '\(key.stringValue)'" + (parent == "top level" ? "" : " in \(parent)")
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "not valid JSON" : "at \(path(context)): \(context.debugDescription)"
        @unknown default: return "invalid"
        }
    }
}

/// Query or form parameters: ordered, repeatable names, values percent-decoded.
public struct Parameters: Sendable, Equatable {
    public private(set) var items: [(name: String, value: String)]

    public init(_ items: [(name: String, value: String)] = []) { self.items = items }

    public init(urlEncoded text: String) {
        items = text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Parameters.decode(parts[0]), parts.count > 1 ? Parameters.decode(parts[1]) : "")
        }
    }

    public subscript(name: String) -> String? { items.first { $0.name == name }?.value }

    public func all(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    /// The value, trimmed, or nil when absent or blank.
    public func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    public static func == (lhs: Parameters, rhs: Parameters) -> Bool {
        lhs.items.elementsEqual(rhs.items) { $0.name == $1.name && $0.value == $1.value }
    }

    static func decode(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// `a=1&b=x%20y`, for building links that keep a filter (RFC 3986 encoding, see
    /// `PercentEncoding`).
    public var urlEncoded: String {
        items.map { "\(PercentEncoding.encode($0.name))=\(PercentEncoding.encode($0.value))" }.joined(separator: "&")
    }
}

/// The CGI parameters of one request, read in one pass straight from libfcgi's `NAME=value`
/// bytes: the handful the worker uses by name, and the `HTTP_*` ones as headers. No string
/// is made for a parameter's name, and none at all for parameters nobody reads.
struct CGIHead {
    var method: String?
    var requestURI: String?
    var documentURI: String?
    var queryString: String?
    var contentType: String?
    var contentLength: String?
    var remoteAddress: String?
    var https: String?
    var headers: [String: String] = [:]

    mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        let text = { String(decoding: value, as: UTF8.self) }
        if name.starts(with: CGIHead.httpPrefix) {
            headers[Request.headerName(cgi: name.dropFirst(5))] = text()
            return
        }
        switch name.count {
        case 5 where name.elementsEqual("HTTPS".utf8): https = text()
        case 11 where name.elementsEqual("REMOTE_ADDR".utf8): remoteAddress = text()
        case 11 where name.elementsEqual("REQUEST_URI".utf8): requestURI = text()
        case 12 where name.elementsEqual("DOCUMENT_URI".utf8): documentURI = text()
        case 12 where name.elementsEqual("QUERY_STRING".utf8): queryString = text()
        case 12 where name.elementsEqual("CONTENT_TYPE".utf8): contentType = text()
        case 14 where name.elementsEqual("REQUEST_METHOD".utf8): method = text()
        case 14 where name.elementsEqual("CONTENT_LENGTH".utf8): contentLength = text()
        default: break
        }
    }

    private static let httpPrefix = Array("HTTP_".utf8)
}

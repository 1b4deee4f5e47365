import FastCGI
import Logging
import VoxCore
import VoxServices

/// What a handler knows about the request beyond the request itself, passed explicitly.
public struct RequestContext: Sendable {
    public let requestID: String
    /// The server's logger, without the request's id (see `logger`).
    let baseLogger: Logger
    /// Path parameters bound by the router (`:id`).
    public var parameters: [String: String]
    /// The signed-in user, when there is one.
    public var user: User?
    /// The token to embed in every form this response renders.
    public var csrfToken: String
    /// The interface language's strings: the profile's language, else the browser's, else English.
    var catalog: Catalog = .english
    /// Cookie-setting and other headers the pipeline adds to whatever the handler returns.
    public var extraHeaders: [(name: String, value: String)] = []

    /// The logger for this request: each line carries the request's id. Made when asked for:
    /// giving a logger metadata makes swift-log's stream handler render all of it again, and
    /// most requests (every webhook that succeeds) log nothing at the level set.
    public var logger: Logger { baseLogger.forRequest(requestID) }

    public init(requestID: String, logger: Logger, parameters: [String: String] = [:], user: User? = nil,
                csrfToken: String = "") {
        self.requestID = requestID
        self.baseLogger = logger
        self.parameters = parameters
        self.user = user
        self.csrfToken = csrfToken
    }

    /// The signed-in user; routes whose access needs a session always have one.
    public func requireUser() throws -> User {
        guard let user else { throw HTTPError(.unauthorized, catalog("error_sign_in_first")) }
        return user
    }

    public func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else { throw HTTPError(.notFound, "missing path parameter \(name)") }
        return value
    }

    /// A record id from the path: 1 to 20 digits that fit a UInt64. Anything else names no
    /// record, so it is the same 404 as a missing one. (Reading a malformed id as 0 looked up
    /// record 0.)
    public func id(_ name: String = "id") throws -> UInt64 {
        let text = try parameter(name)
        guard text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = UInt64(text), id > 0 else {
            throw HTTPError(.notFound, catalog("error_bad_id"))
        }
        return id
    }
}

extension Logger {
    /// This logger with `request_id` in its metadata.
    func forRequest(_ requestID: String) -> Logger {
        var logger = self
        logger[metadataKey: "request_id"] = .string(requestID)
        return logger
    }
}

import FastCGI
import Logging
import VoxCore

/// What a handler knows about the request beyond the request itself, passed explicitly.
public struct RequestContext: Sendable {
    public let requestID: String
    public var logger: Logger
    /// Path parameters bound by the router (`:id`).
    public var parameters: [String: String]
    /// The signed-in user, when there is one.
    public var user: User?
    /// The token to embed in every form this response renders.
    public var csrfToken: String
    /// Cookie-setting and other headers the pipeline adds to whatever the handler returns.
    public var extraHeaders: [(name: String, value: String)] = []

    /// The signed-in user; routes with `.signedIn` access always have one.
    public func requireUser() throws -> User {
        guard let user else { throw HTTPError(.unauthorized, "sign in first") }
        return user
    }

    public func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else { throw HTTPError(.notFound, "missing path parameter \(name)") }
        return value
    }
}

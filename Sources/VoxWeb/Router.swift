import FastCGI

import VoxCore

/// Who may call a route: the one place where roles meet routes. A page redirects to the
/// login form when nobody is signed in; a signed-in user the route is not for gets a 403.
public enum Access: String, Sendable, CaseIterable {
    /// Anyone (login page, invitation links, health check).
    case `public`
    /// Any signed-in user, viewers included: reading, and one's own profile and session.
    case member
    /// Operators and admins: everything that changes accounts, applications and calls.
    case `operator`
    /// Admins only.
    case admin
    /// Machine callers that authenticate themselves (signatures); no session, no CSRF.
    case webhook

    public var needsSession: Bool { self == .member || self == .operator || self == .admin }

    /// Whether `user` may use a route with this access.
    public func permits(_ user: User) -> Bool {
        switch self {
        case .public, .webhook, .member: true
        case .operator: user.role != .viewer
        case .admin: user.isAdmin
        }
    }

    /// What a refused user is told.
    /// The catalog key of the 403 for someone this access does not permit.
    var refusalKey: String { self == .admin ? "error_admin_only" : "error_viewer_read_only" }
}

public typealias Handler = @Sendable (Request, RequestContext) throws -> Response

/// Maps method and path to a handler. Patterns read like the URL space: `/calls/:id`.
///
/// A path matches a pattern only as written: `/login/` and `//login` are not `/login`, so the
/// rules nginx keys on exact paths (rate limits, body sizes) cannot be stepped around with a
/// slash. Where a literal segment and a `:parameter` both match (`/calls/export.csv` and
/// `/calls/:id`), the literal wins, whatever the order of registration.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let access: Access
        let handler: Handler
        let pattern: String
    }

    enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter(String)
    }

    public enum Match {
        /// `pattern` as registered (`/calls/:id`): what metrics label a request with.
        case found(access: Access, handler: Handler, parameters: [String: String], pattern: String)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, access: Access, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
        routes.append(Route(method: method, segments: segments, access: access, handler: handler, pattern: pattern))
    }

    public mutating func get(_ pattern: String, access: Access = .operator, _ handler: @escaping Handler) {
        add("GET", pattern, access: access, handler)
    }

    public mutating func post(_ pattern: String, access: Access = .operator, _ handler: @escaping Handler) {
        add("POST", pattern, access: access, handler)
    }

    public func match(method: String, path: String) -> Match {
        guard path.hasPrefix("/") else { return .notFound }
        // Empty segments are kept: "/a//b" and "/a/" match no pattern.
        let parts = path == "/" ? [] : path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var best: (route: Route, parameters: [String: String])?
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Router.bind(route.segments, to: parts) else { continue }
            // HEAD is answered by the GET handler; the server drops nothing, nginx strips the body.
            guard route.method == method || (method == "HEAD" && route.method == "GET") else {
                allowed.append(route.method)
                continue
            }
            if best == nil || Router.isMoreSpecific(route.segments, than: best!.route.segments) {
                best = (route, parameters)
            }
        }
        if let best { return .found(access: best.route.access, handler: best.route.handler, parameters: best.parameters, pattern: best.route.pattern) }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    /// The first position where one is literal and the other a parameter decides.
    static func isMoreSpecific(_ a: [Segment], than b: [Segment]) -> Bool {
        for (x, y) in zip(a, b) {
            switch (x, y) {
            case (.literal, .parameter): return true
            case (.parameter, .literal): return false
            default: continue
            }
        }
        return false
    }

    static func bind(_ segments: [Segment], to parts: [Substring]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case let .literal(text): guard text == part else { return nil }
            case let .parameter(name):
                guard !part.isEmpty else { return nil }
                parameters[name] = String(part)
            }
        }
        return parameters
    }
}

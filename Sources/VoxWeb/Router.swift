import FastCGI

/// Who may call a route.
public enum Access: Sendable {
    /// Anyone (login page, health check).
    case `public`
    /// A signed-in user; a page redirects to the login form otherwise.
    case signedIn
    /// A signed-in admin.
    case admin
    /// Machine callers that authenticate themselves (signatures); no session, no CSRF.
    case webhook
}

public typealias Handler = @Sendable (Request, RequestContext) throws -> Response

/// Maps method and path to a handler. Patterns read like the URL space: `/calls/:id`.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let access: Access
        let handler: Handler
    }

    enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter(String)
    }

    public enum Match {
        case found(access: Access, handler: Handler, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, access: Access, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
        routes.append(Route(method: method, segments: segments, access: access, handler: handler))
    }

    public mutating func get(_ pattern: String, access: Access = .signedIn, _ handler: @escaping Handler) {
        add("GET", pattern, access: access, handler)
    }

    public mutating func post(_ pattern: String, access: Access = .signedIn, _ handler: @escaping Handler) {
        add("POST", pattern, access: access, handler)
    }

    public func match(method: String, path: String) -> Match {
        let parts = path.split(separator: "/").map(String.init)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Router.bind(route.segments, to: parts) else { continue }
            // HEAD is answered by the GET handler; the server drops nothing, nginx strips the body.
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(access: route.access, handler: route.handler, parameters: parameters)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    static func bind(_ segments: [Segment], to parts: [String]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case let .literal(text): guard text == part else { return nil }
            case let .parameter(name): parameters[name] = part
            }
        }
        return parameters
    }
}

import CryptoPrimitives
import FastCGI

/// The Prometheus text, and who may read it through nginx: a scraper that sends
/// `Authorization: Bearer <VOXFCGI_METRICS_TOKEN>`. Without a token the route does not exist
/// (404), and metrics are read on the worker's own loopback listener instead.
public struct MetricsExposition: Sendable {
    let token: String
    let render: @Sendable () -> [UInt8]

    public init(token: String, render: @escaping @Sendable () -> [UInt8]) {
        self.token = token
        self.render = render
    }
}

enum MetricsRoute {
    static func serve(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        guard let metrics = site.metrics, !metrics.token.isEmpty else { throw HTTPError(.notFound, context.catalog("error_no_page")) }
        let given = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard constantTimeEquals(Array(given.utf8), Array(metrics.token.utf8)) else {
            var error = HTTPError(.unauthorized, "a metrics token is needed (Authorization: Bearer …)")
            error.headers = [("WWW-Authenticate", "Bearer")]
            throw error
        }
        return Response(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store")],
                        body: .bytes(metrics.render()))
    }
}

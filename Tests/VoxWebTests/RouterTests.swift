import FastCGI
import Testing
@testable import VoxWeb

@Suite struct RouterTests {
    func router() -> Router {
        var router = Router()
        router.get("/") { _, _ in .text("home") }
        router.get("/calls/:id") { _, context in .text("call \(context.parameters["id"] ?? "")") }
        router.post("/calls/:id/retry", access: .admin) { _, _ in .text("retried") }
        router.get("/calls/export") { _, _ in .text("export") }
        return router
    }

    @Test func bindsParameters() {
        guard case let .found(access, _, parameters, _) = router().match(method: "GET", path: "/calls/123") else {
            Issue.record("no match")
            return
        }
        #expect(parameters == ["id": "123"])
        #expect(access == .operator)
    }

    @Test func literalSegmentWinsOverParameterWhateverTheOrder() {
        // "/calls/export" also matches "/calls/:id", which was registered first.
        guard case let .found(_, handler, parameters, _) = router().match(method: "GET", path: "/calls/export") else {
            Issue.record("no match")
            return
        }
        #expect(parameters.isEmpty)
        let response = try? handler(Request(method: "GET", path: "/calls/export"), RequestContext(requestID: "t", logger: .init(label: "t")))
        guard case let .bytes(body)? = response?.body else {
            Issue.record("expected a body")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == "export")
    }

    @Test func aPathMatchesOnlyAsWritten() {
        // nginx keys rate limits and body sizes on exact paths: "/login/" must not reach "/login".
        for path in ["/calls/123/", "//calls/123", "/calls//123", "/calls/", "calls/123", ""] {
            guard case .notFound = router().match(method: "GET", path: path) else {
                Issue.record("\(path) should not match")
                continue
            }
        }
    }

    @Test func methodNotAllowedListsMethods() {
        guard case let .methodNotAllowed(allowed) = router().match(method: "DELETE", path: "/calls/1") else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed == ["GET"])
    }

    @Test func unknownPathIsNotFound() {
        guard case .notFound = router().match(method: "GET", path: "/nope/1/2") else {
            Issue.record("expected 404")
            return
        }
    }

    @Test func headUsesGet() {
        guard case .found = router().match(method: "HEAD", path: "/") else {
            Issue.record("HEAD should reach the GET route")
            return
        }
    }
}

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
        guard case let .found(access, _, parameters) = router().match(method: "GET", path: "/calls/123") else {
            Issue.record("no match")
            return
        }
        #expect(parameters == ["id": "123"])
        #expect(access == .signedIn)
    }

    @Test func routesInOrderOfRegistration() {
        // "/calls/export" also matches "/calls/:id"; the first registered wins, so the literal
        // route must be registered before the pattern in real code. Here :id was first.
        guard case let .found(_, _, parameters) = router().match(method: "GET", path: "/calls/export") else {
            Issue.record("no match")
            return
        }
        #expect(parameters["id"] == "export")
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

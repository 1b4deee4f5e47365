import FastCGI
import Foundation
import Testing
import VoxCore
@testable import VoxWeb

@Suite struct AuthenticationTests {
    @Test func protectedPageRedirectsToLogin() throws {
        let harness = try TestHarness()
        let response = harness.get("/")
        #expect(response.status == .seeOther)
        #expect(response.header("Location") == "/login")
        #expect(harness.get("/healthz").status == .ok)
    }

    @Test func loginThenHomeThenLogout() throws {
        let harness = try TestHarness()
        let login = harness.login()
        #expect(login.status == .seeOther)
        #expect(login.header("Location") == "/")
        let cookie = try #require(login.headers(named: "Set-Cookie").first { $0.hasPrefix("vox_session=") })
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("SameSite=Lax"))
        #expect(!cookie.contains("Secure"))

        let home = harness.get("/")
        #expect(home.status == .ok)
        #expect(harness.body(home).contains("admin@example.com"))
        #expect(home.header("Cache-Control") == "no-store")

        let logout = harness.post("/logout", form: [], csrf: harness.csrfToken(on: "/"))
        #expect(logout.status == .seeOther)
        #expect(harness.get("/").status == .seeOther)
    }

    @Test func wrongPasswordIsRefusedWithMessage() throws {
        let harness = try TestHarness()
        let response = harness.login(password: "wrong password")
        #expect(response.status == .unauthorized)
        #expect(harness.body(response).contains("Wrong email or password."))
        #expect(harness.cookies["vox_session"] == nil)
    }

    @Test func postWithoutCSRFTokenIsForbidden() throws {
        let harness = try TestHarness()
        _ = harness.get("/login")
        let missing = harness.post("/login", form: [("email", "admin@example.com"), ("password", TestHarness.password)])
        #expect(missing.status == .forbidden)
        let forged = harness.post("/login", form: [("email", "admin@example.com"), ("password", TestHarness.password)],
                                  csrf: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        #expect(forged.status == .forbidden)

        // A signed-in user's token is bound to the session: the login page's token no longer works.
        let preLoginToken = harness.csrfToken()
        harness.login()
        #expect(harness.post("/logout", form: [], csrf: preLoginToken).status == .forbidden)
        #expect(harness.get("/").status == .ok)
    }

    @Test func tokenFromAnotherVisitorIsRejected() throws {
        let alice = try TestHarness()
        let token = alice.csrfToken()
        let mallory = try TestHarness()
        _ = mallory.get("/login")
        let response = mallory.post("/login", form: [("email", "admin@example.com"), ("password", TestHarness.password)], csrf: token)
        #expect(response.status == .forbidden)
    }

    @Test func sessionExpires() throws {
        let harness = try TestHarness(sessionLifetime: 600)
        harness.login()
        #expect(harness.get("/").status == .ok)
        harness.clock.advance(by: 599)
        #expect(harness.get("/").status == .ok)
        harness.clock.advance(by: 2)
        let expired = harness.get("/")
        #expect(expired.status == .seeOther)
        #expect(expired.header("Location") == "/login")
        // The expired session is gone from the table, not just ignored.
        #expect(try harness.database.environment.read { txn in try harness.database.sessions.count(txn) } == 0)
    }

    @Test func loginIsSlowedThenLocked() throws {
        let harness = try TestHarness()
        for _ in 0..<3 { #expect(harness.login(password: "nope nope nope").status == .unauthorized) }
        // Fourth failure: from now on each attempt waits.
        #expect(harness.login(password: "nope nope nope").status == .unauthorized)
        let slowed = harness.login()
        #expect(slowed.status == .tooManyRequests)
        #expect(harness.body(slowed).contains("Wait 2 s"))
        harness.clock.advance(by: 3)
        // After the wait, the right password works and clears the email's failures.
        #expect(harness.login().status == .seeOther)

        harness.cookies = [:]
        for attempt in 0..<10 {
            harness.clock.advance(by: 61)
            #expect(harness.login(password: "still wrong").status == .unauthorized, "attempt \(attempt)")
        }
        harness.clock.advance(by: 61)
        let locked = harness.login()
        #expect(locked.status == .tooManyRequests)
        #expect(harness.body(locked).contains("locked"))
        harness.clock.advance(by: 15 * 60)
        #expect(harness.login().status == .seeOther)
    }

    @Test func addressIsThrottledAcrossEmails() throws {
        let harness = try TestHarness()
        // Ten failures are free for an address (people share them); the eleventh starts the wait.
        for i in 0..<11 {
            harness.clock.advance(by: 61)
            _ = harness.login(email: "nobody\(i)@example.com", password: "whatever it is")
        }
        harness.clock.advance(by: 1)
        #expect(harness.login(email: "someone@example.com", password: "x").status == .tooManyRequests)
        harness.address = "192.0.2.99"
        #expect(harness.login().status == .seeOther)
    }

    @Test func openRedirectIsRefused() throws {
        #expect(LoginPage.safeNext("//evil.example/x") == "/")
        #expect(LoginPage.safeNext("https://evil.example") == "/")
        #expect(LoginPage.safeNext("/calls?x=1") == "/calls?x=1")
    }

    @Test func unknownPathAndMethod() throws {
        let harness = try TestHarness()
        harness.login()
        #expect(harness.get("/nowhere").status == .notFound)
        let wrongMethod = harness.post("/healthz", form: [], csrf: harness.csrfToken(on: "/"))
        #expect(wrongMethod.status == .methodNotAllowed)
        #expect(wrongMethod.header("Allow") == "GET")
    }

    @Test func loginFormKeepsEmailEscaped() throws {
        let harness = try TestHarness()
        let response = harness.post("/login", form: [("email", "<script>x</script>@a.b"), ("password", "")], csrf: harness.csrfToken())
        #expect(response.status == .unprocessableContent)
        let html = harness.body(response)
        #expect(!html.contains("<script>x"))
        #expect(html.contains("&lt;script&gt;"))
    }
}

import CryptoPrimitives
import Essentials
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
        // Decoded from next=%0D%0A… and friends: each of these made a Location a browser reads
        // as another site, or split the header.
        for hostile in ["/\r\n/evil.example", "/\t/evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
                        "/ /evil.example", "/\n//evil.example", "/\u{0}/evil.example", "/\u{2028}/evil.example", "/\u{200B}/evil",
                        "/calls\r\nSet-Cookie: x=1", "evil.example", ""] {
            #expect(LoginPage.safeNext(hostile) == "/", "\(hostile.debugDescription)")
        }
        // Through the pipeline: the Location is a plain local path.
        let harness = try TestHarness()
        let response = harness.post("/login", form: [("email", "admin@example.com"), ("password", TestHarness.password),
                                                     ("next", "/\r\n/evil.example")], csrf: harness.csrfToken())
        #expect(response.header("Location") == "/")
    }

    /// Issue 12, section 5: an attacker's failures lock the attacker, not the real user.
    @Test func anAttackerCannotLockTheRealUserOut() throws {
        let harness = try TestHarness()
        harness.address = "198.51.100.66"
        for _ in 0..<12 {
            harness.clock.advance(by: 61)
            _ = harness.login(password: "attacker guess")
        }
        harness.clock.advance(by: 1)
        let attacker = harness.login()
        #expect(attacker.status == .tooManyRequests && harness.body(attacker).contains("locked"))
        // The real user, elsewhere, waits at most the per-email delay, then signs in.
        harness.address = "192.0.2.10"
        harness.cookies = [:]
        var response = harness.login()
        if response.status == .tooManyRequests {
            #expect(!harness.body(response).contains("locked"))
            harness.clock.advance(by: 31)
            response = harness.login()
        }
        #expect(response.status == .seeOther)
    }

    /// Parallel guesses each count: the attempt is reserved before the password is checked.
    @Test func parallelGuessesAreAllCounted() throws {
        let harness = try TestHarness()
        let throttle = harness.services.throttle
        let allowed = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 20) { _ in
            if (try? throttle.reserve(email: "admin@example.com", address: "203.0.113.7")) == .allowed { allowed.add(1) }
        }
        #expect(allowed.value == 4)  // 3 free, the 4th allowed then counted; the rest wait
    }

    @Test func changingThePasswordEndsOtherSessionsAndDisablingEndsAll() throws {
        let first = try TestHarness()
        #expect(first.login().status == .seeOther)
        let keep = first.cookies
        first.cookies = [:]
        #expect(first.login().status == .seeOther)
        let other = first.cookies
        let users = first.services.users
        let kept = Sessions.key(keep[App.sessionCookie]!)
        try users.setPassword(email: "admin@example.com", password: "a brand new password", keeping: kept)
        first.cookies = other
        #expect(first.get("/calls").status == .seeOther)  // signed out: back to the login form
        first.cookies = keep
        #expect(first.get("/calls").status == .ok)
        try users.setDisabled(email: "admin@example.com", true)
        #expect(first.get("/calls").status == .seeOther)
        #expect(first.login(password: "a brand new password").status == .unauthorized)
        try users.setDisabled(email: "admin@example.com", false)
        #expect(first.login(password: "a brand new password").status == .seeOther)
    }

    @Test func clientChosenTextIsEscapedInLogLines() {
        #expect(LogText.escape("evil@example.com\n2026-12-02 info forged line") == "evil@example.com\\u{a}2026-12-02 info forged line")
        #expect(LogText.escape("\u{1B}[31mred") == "\\u{1b}[31mred")
        #expect(LogText.escape(String(repeating: "a", count: 300)).count == 257)
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

final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func add(_ n: Int) where T == Int { lock.lock(); stored += n; lock.unlock() }
}

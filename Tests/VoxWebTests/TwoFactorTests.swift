import CryptoPrimitives
import FastCGI
import Foundation
import Testing
import VoxCore
@testable import VoxWeb

/// Enrolment, the two-step sign-in, replay, recovery codes and the admins' rule, through the pipeline.
@Suite struct TwoFactorTests {
    func code(_ harness: TestHarness, secret: String, offset: TimeInterval = 0) -> String {
        TOTP.code(secret: Base32.decode(secret)!, unixTime: UInt64(harness.clock.now().timeIntervalSince1970 + offset))
    }

    /// Enrols the signed-in admin; returns the secret and the recovery codes.
    func enrol(_ harness: TestHarness) throws -> (secret: String, recovery: [String]) {
        let csrf = harness.csrfToken(on: "/profile")
        let page = harness.body(harness.post("/profile/2fa/start", form: [], csrf: csrf))
        #expect(page.contains("<svg") && page.contains("id=\"two-factor-qr\""))
        let shown = try #require(page.range(of: #"id="two-factor-secret">"#).map { String(page[$0.upperBound...].prefix { $0 != "<" }) })
        let secret = shown.replacingOccurrences(of: " ", with: "")
        #expect(harness.post("/profile/2fa/confirm", form: [("code", "000000")], csrf: csrf).status == .unprocessableContent
            || code(harness, secret: secret) == "000000")
        let done = harness.body(harness.post("/profile/2fa/confirm", form: [("code", code(harness, secret: secret))], csrf: csrf))
        let codes = done.components(separatedBy: "<li><code>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        #expect(codes.count == 10 && Set(codes).count == 10)
        return (secret, codes)
    }

    @Test func signInAsksForTheCodeAfterThePassword() throws {
        let harness = try TestHarness()
        harness.login()
        let (secret, recovery) = try enrol(harness)
        harness.cookies = [:]
        harness.clock.advance(by: 31)  // the enrolment's code is spent; the next step's is new

        let step = harness.login()
        #expect(step.status == .seeOther && step.headers(named: "Location") == ["/login/code"])
        #expect(harness.get("/calls").status == .seeOther)  // no session yet
        let csrf = harness.csrfToken(on: "/login/code")
        #expect(harness.post("/login/code", form: [("code", "123456")], csrf: csrf).status == .unauthorized
            || code(harness, secret: secret) == "123456")
        let right = code(harness, secret: secret)
        #expect(harness.post("/login/code", form: [("code", right)], csrf: csrf).status == .seeOther)
        #expect(harness.get("/calls").status == .ok)

        // The same code cannot sign in twice.
        harness.cookies = [:]
        harness.login()
        let again = harness.csrfToken(on: "/login/code")
        #expect(harness.post("/login/code", form: [("code", right)], csrf: again).status == .unauthorized)
        // A recovery code works, once.
        #expect(harness.post("/login/code", form: [("code", recovery[0].uppercased())], csrf: again).status == .seeOther)
        harness.cookies = [:]
        harness.login()
        let third = harness.csrfToken(on: "/login/code")
        #expect(harness.post("/login/code", form: [("code", recovery[0])], csrf: third).status == .unauthorized)

        // The secret is sealed: not in the data file in plain text.
        let admin = try #require(try harness.services.users.find(email: "admin@example.com"))
        #expect(admin.hasTwoFactor && admin.recoveryCodeHashes?.count == 9)
        let file = try Data(contentsOf: URL(fileURLWithPath: harness.path + "/lmdb/data.mdb"))
        #expect(file.range(of: Data(secret.utf8)) == nil)
    }

    @Test func adminsMustEnrolWhenTheTeamSaysSo() throws {
        let harness = try TestHarness()
        _ = try harness.services.users.create(email: "second@example.com", role: .admin, password: TestHarness.password)
        harness.login()
        // Not before the admin who sets the rule uses it: it would lock them out.
        var csrf = harness.csrfToken(on: "/team")
        #expect(harness.post("/team/settings", form: [("require_admin_2fa", "1")], csrf: csrf).status == .unprocessableContent)
        _ = try enrol(harness)
        csrf = harness.csrfToken(on: "/team")
        #expect(harness.post("/team/settings", form: [("require_admin_2fa", "1")], csrf: csrf).status == .seeOther)
        harness.cookies = [:]
        harness.login(email: "second@example.com")
        let blocked = harness.get("/calls")
        #expect(blocked.status == .seeOther && blocked.headers(named: "Location") == ["/profile"])
        #expect(harness.body(harness.get("/profile")).contains("id=\"must-enrol\""))
        _ = try enrol(harness)
        #expect(harness.get("/calls").status == .ok)
    }
}

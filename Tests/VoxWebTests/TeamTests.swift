import FastCGI
import Foundation
import Testing
import VoxCore
import VoxServices
@testable import VoxWeb

/// Roles, the Team page's links, and the rule that walks every route with every role.
@Suite struct TeamTests {
    /// A harness with an operator (who owns a call) and a viewer assigned to them.
    func world() throws -> (TestHarness, operator: User, viewer: User) {
        let harness = try TestHarness()
        let users = harness.services.users
        let op = try users.create(email: "op@example.com", role: .operator, password: TestHarness.password)
        let other = try users.create(email: "other@example.com", role: .operator, password: TestHarness.password)
        let admin = try #require(try users.find(email: "admin@example.com"))
        let (viewer, token) = try harness.services.team.invite(email: "viewer@example.com", role: .viewer, watches: [op.id],
                                                               by: AuditActor(admin, address: "test"))
        _ = try harness.services.team.redeem(token, password: TestHarness.password + " 7", address: "test")
        let pages = CallPagesTests()
        try harness.database.environment.write { txn in
            for (id, owner) in [(10, op.id), (11, other.id)] as [(UInt64, UInt64)] {
                try harness.database.accounts.put(txn, id, Account(id: id, ownerUserID: owner, voximplantAccountID: String(id), name: "A\(id)"))
                try harness.database.applications.put(txn, id + 10, Application(id: id + 10, accountID: id, name: "App\(id)",
                                                                               elevenLabsAgentID: "a", phoneNumber: "+74950000000"))
            }
        }
        let opApp = Application(id: 20, accountID: 10, name: "App10", elevenLabsAgentID: "a", phoneNumber: "+74950000000")
        let otherApp = Application(id: 21, accountID: 11, name: "App11", elevenLabsAgentID: "a", phoneNumber: "+74950000000")
        _ = try CallStore(database: harness.database).upsert([
            pages.call(op, opApp, session: 1, at: harness.clock.now() - 600, from: "+7 999 111-11-11"),
            pages.call(other, otherApp, session: 2, at: harness.clock.now() - 600, from: "+7 999 222-22-22"),
        ])
        return (harness, op, viewer)
    }

    @Test func viewerSeesTheAssignedOperatorsCallsAndChangesNothing() throws {
        let (harness, _, _) = try world()
        harness.login(email: "viewer@example.com", password: TestHarness.password + " 7")
        let calls = harness.body(harness.get("/calls"))
        #expect(calls.contains("+7 999 111-11-11") && !calls.contains("+7 999 222-22-22"))
        #expect(calls.contains("1 call"))
        #expect(!calls.contains("id=\"sync-now\""))
        let stats = harness.body(harness.get("/statistics"))
        #expect(stats.contains("App10") && !stats.contains("App11"))
        let csrf = harness.csrfToken(on: "/calls")
        #expect(harness.post("/calls/sync", form: [], csrf: csrf).status == .forbidden)
        #expect(harness.get("/setup").status == .forbidden)
        // Their own profile is theirs to change.
        #expect(harness.post("/profile/settings", form: [("time_zone", "Europe/Moscow"), ("language", "ru")], csrf: csrf).status == .seeOther)
        let nav = harness.body(harness.get("/"))
        #expect(!nav.contains("href=\"/setup\"") && !nav.contains("href=\"/team\"") && nav.contains("href=\"/calls\""))
    }

    /// Every route of the table with every role: refused exactly where its access says, and
    /// never a 403 where it permits.
    @Test func everyRouteWithEveryRole() throws {
        let (harness, _, _) = try world()
        let roles: [(String?, String, Role?)] = [
            (nil, "", nil), ("admin@example.com", TestHarness.password, .admin), ("op@example.com", TestHarness.password, .operator),
            ("viewer@example.com", TestHarness.password + " 7", .viewer),
        ]
        for (email, password, role) in roles {
            harness.cookies = [:]
            if let email { harness.login(email: email, password: password) }
            let csrf = harness.csrfToken(on: email == nil ? "/login" : "/profile")
            for route in Routes.table where route.access != .webhook && route.access != .public {
                if route.pattern == "/logout" { continue }  // would end the session the walk uses
                let path = route.pattern.split(separator: "/").map { $0.hasPrefix(":") ? "999" : String($0) }.joined(separator: "/")
                let response = route.method == "GET" ? harness.get("/" + path) : harness.post("/" + path, form: [], csrf: csrf)
                let status = response.status.rawValue
                let label = "\(route.method) \(route.pattern) as \(role?.rawValue ?? "nobody")"
                guard let role else {
                    #expect(status == 303 || status == 401, "\(label): \(status)")
                    continue
                }
                let user = try #require(try harness.services.users.find(email: email!))
                if route.access.permits(user) {
                    #expect(status != 403 && status != 401, "\(label): \(status)")
                } else {
                    #expect(status == 403, "\(label): \(status)")
                    #expect(route.method == "GET" || role == .viewer || route.access == .admin, "\(label)")
                }
            }
        }
        // And the table says what the issue asks: every POST route refuses a viewer, except
        // one's own profile and session.
        let viewer = try #require(try harness.services.users.find(email: "viewer@example.com"))
        let open = Routes.table.filter { $0.method == "POST" && $0.access != .public && $0.access != .webhook && $0.access.permits(viewer) }
        #expect(!open.isEmpty && open.allSatisfy { $0.pattern == "/logout" || $0.pattern.hasPrefix("/profile/") }, "\(open.map(\.pattern))")
    }

    @Test func invitationLinkWorksOnceAndEnforcesThePolicy() throws {
        let harness = try TestHarness()
        harness.login()
        let csrf = harness.csrfToken(on: "/team")
        let page = harness.body(harness.post("/team", form: [("email", "New@Example.com"), ("role", "operator")], csrf: csrf))
        let link = try #require(page.range(of: #"id="invite-link">"#).map { String(page[$0.upperBound...].prefix { $0 != "<" }) })
        let path = try #require(URL(string: link)?.path)
        #expect(path.hasPrefix("/invite/"))
        harness.cookies = [:]
        #expect(harness.body(harness.get(path)).contains("new@example.com"))
        let token = harness.csrfToken(on: path)
        for (weak, why) in [("short pass", "at least 12"), ("password1234", "most common"), ("new@example.com!", "email"),
                            ("aaaaaaaaaaaaaa", "three different")] {
            let refused = harness.post(path, form: [("password", weak), ("confirm", weak)], csrf: token)
            #expect(refused.status == .unprocessableContent && harness.body(refused).contains(why), "\(weak)")
        }
        let good = "a long and unusual passphrase"
        #expect(harness.post(path, form: [("password", good), ("confirm", good)], csrf: token).status == .seeOther)
        #expect(harness.get(path).status == .gone)
        #expect(harness.login(email: "new@example.com", password: good).status == .seeOther)
        #expect(harness.body(harness.get("/")).contains("new@example.com"))
    }

    @Test func lastAdminStaysAndDisablingEndsSessionsAtOnce() throws {
        let (harness, op, _) = try world()
        let admin = try #require(try harness.services.users.find(email: "admin@example.com"))
        let actor = AuditActor(admin, address: "test")
        #expect(throws: TeamError.lastAdmin) { try harness.services.team.setRole(userID: admin.id, .operator, by: actor) }
        #expect(throws: TeamError.lastAdmin) { try harness.services.team.setDisabled(userID: admin.id, true, by: actor) }

        harness.login(email: "op@example.com")
        #expect(harness.get("/calls").status == .ok)
        try harness.services.team.setDisabled(userID: op.id, true, by: actor)
        #expect(harness.get("/calls").status == .seeOther)  // back to the login form
        #expect(harness.login(email: "op@example.com").status == .unauthorized)

        let (entries, _) = try harness.services.audit.page(AuditLog.Filter())
        let actions = entries.map(\.action)
        #expect(actions.contains("user-disabled") && actions.contains("user-invited") && actions.contains("password-set"))
        #expect(actions.contains("sign-in") && actions.contains("sign-in-failed"))
        #expect(!entries.contains { $0.detail.contains(TestHarness.password) })
    }

    @Test func auditPagesByKeysetWithoutLosingEntriesOfTheSameInstant() throws {
        let harness = try TestHarness()
        let audit = harness.services.audit
        // 250 entries at one instant (the manual clock does not move): the cursor must carry the sequence.
        for n in 0..<250 { try audit.record(.jobRetried, by: .commandLine, "job \(n)") }
        var seen: [String] = []
        var cursor: AuditLog.Cursor?
        repeat {
            let page = try audit.page(AuditLog.Filter(action: "job-retried"), before: cursor, limit: 100)
            seen += page.entries.map(\.detail)
            cursor = page.next
        } while cursor != nil
        #expect(seen.count == 250 && Set(seen).count == 250 && seen.first == "job 249")
        harness.login()
        let html = harness.body(harness.get("/audit?action=job-retried"))
        #expect(html.contains("id=\"audit-older\"") && html.contains("job 249") && !html.contains("job 149<"))
        #expect(harness.get("/audit?before=x").status == .badRequest && harness.get("/audit?action=nope").status == .badRequest)
        let csv = harness.body(harness.get("/audit/export.csv?action=job-retried"))
        #expect(csv.split(separator: "\r\n").count == 251)
    }
}

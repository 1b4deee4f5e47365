import FastCGI
import Foundation
import Testing
import VoxCore
@testable import VoxWeb

/// Call History, detail, CSV and Statistics through the whole pipeline.
@Suite struct CallPagesTests {
    /// An operator (alice) with one account and application, signed in.
    func aliceHarness() throws -> (TestHarness, User, Application) {
        let harness = try TestHarness()
        let users = Users(database: harness.database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        let alice = try users.create(email: "alice@example.com", role: .operator, password: TestHarness.password,
                                     timeZone: "Europe/Moscow")
        let app = try harness.database.environment.write { txn in
            let account = Account(id: 10, ownerUserID: alice.id, voximplantAccountID: "1", name: "A", currency: "RUB")
            try harness.database.accounts.put(txn, account.id, account)
            let app = Application(id: 20, accountID: 10, name: "Support <b>line</b>", elevenLabsAgentID: "agent", phoneNumber: "+74950000000")
            try harness.database.applications.put(txn, app.id, app)
            return app
        }
        harness.login(email: "alice@example.com")
        return (harness, alice, app)
    }

    func call(_ owner: User, _ app: Application, session: UInt64, at: Date, from: String = "+7 999 123-45-67",
              status: CallStatus = .answered, conversation: String? = nil) -> Call {
        Call(ownerUserID: owner.id, accountID: app.accountID, applicationID: app.id, voximplantSessionID: session,
             conversationID: conversation, direction: .inbound, fromNumber: from, toNumber: "+7 495 000-00-00",
             startedAt: at, durationSeconds: 125, cost: Money(micros: 3_800_000, currency: "RUB"), status: status)
    }

    @Test func historyShowsFormattedRowsAndFilters() throws {
        let (harness, alice, app) = try aliceHarness()
        let now = harness.clock.now()
        _ = try CallStore(database: harness.database).upsert([
            call(alice, app, session: 1, at: now - 3600, status: .answered),
            call(alice, app, session: 2, at: now - 7200, from: "+1 202 555 0100", status: .failed),
        ])
        let page = harness.body(harness.get("/calls"))
        #expect(page.contains("2 calls<"))
        #expect(page.contains("+7 999 123-45-67"))
        #expect(page.contains("2:05"))
        #expect(page.contains("3.80 ₽"))
        #expect(page.contains("class=\"status s-failed\""))
        let failed = harness.body(harness.get("/calls?status=failed"))
        #expect(failed.contains("1 call matches the filter"))
        #expect(!failed.contains("+7 999 123-45-67"))
        let byNumber = harness.body(harness.get("/calls?number=0100"))
        #expect(byNumber.contains("+1 202-555-0100"))
        #expect(!byNumber.contains("+7 999 123-45-67"))
    }

    @Test func badFilterIsA400WithMessage() throws {
        let (harness, _, _) = try aliceHarness()
        let response = harness.get("/calls?from=yesterday&status=maybe&size=7")
        #expect(response.status == .badRequest)
        let html = harness.body(response)
        #expect(html.contains("“From” must be a date"))
        #expect(html.contains("Unknown status “maybe”"))
        #expect(html.contains("Page size must be one of"))
    }

    @Test func scriptInNumbersAndTranscriptIsEscaped() throws {
        let (harness, alice, app) = try aliceHarness()
        let evil = "<script>alert(1)</script>"
        try harness.database.environment.write { txn in
            let store = CallStore(database: harness.database)
            try store.saveTranscript(Transcript(conversationID: "c1", turns: [.init(role: "user", text: evil, secondsIntoCall: 3)],
                                                summary: evil, successVerdict: "success"), owner: alice.id, in: txn)
            try store.upsert(call(alice, app, session: 5, at: harness.clock.now(), from: evil + "+7999", conversation: "c1"), in: txn)
        }
        for path in ["/calls", "/calls/1"] {
            let html = harness.body(harness.get(path))
            #expect(!html.contains("<script>alert"), "\(path)")
            #expect(!html.contains("<b>line</b>"), "\(path)")
        }
        let detail = harness.body(harness.get("/calls/1"))
        #expect(detail.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(detail.contains("Caller · <a href=\"#t=3\" class=\"at\">0:03</a>"))
        // A search shows the matched line as text, with only our own <mark> around the word.
        let found = harness.body(harness.get("/calls?q=alert"))
        #expect(found.contains("&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;"))
        #expect(!found.contains("<script>alert"))
    }

    @Test func anotherTenantsCallIsNotFoundAndNotExported() throws {
        let (harness, alice, app) = try aliceHarness()
        let users = Users(database: harness.database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        let bob = try users.create(email: "bob@example.com", role: .operator, password: TestHarness.password)
        _ = try CallStore(database: harness.database).upsert([
            call(alice, app, session: 1, at: harness.clock.now(), from: "+7 900 111-11-11"),
            call(bob, app, session: 2, at: harness.clock.now(), from: "+7 900 222-22-22"),
        ])
        harness.cookies = [:]
        harness.login(email: "bob@example.com")
        #expect(harness.get("/calls/1").status == .notFound)
        #expect(harness.get("/calls/2").status == .ok)
        #expect(harness.get("/calls/abc").status == .notFound)
        let csv = harness.body(harness.get("/calls/export.csv"))
        #expect(csv.contains("+7 900 222-22-22"))
        #expect(!csv.contains("+7 900 111-11-11"))
        #expect(!harness.body(harness.get("/calls?number=1111111")).contains("+7 900 111-11-11"))
        _ = alice
    }

    @Test func csvExportStreamsEveryRowWithQuoting() throws {
        let (harness, alice, app) = try aliceHarness()
        let now = harness.clock.now()
        _ = try CallStore(database: harness.database).upsert((0..<1_234).map {
            call(alice, app, session: UInt64($0 + 1), at: now - Double($0) * 60, from: $0 == 0 ? "=cmd|x,\"y\"" : "+7 999 000-00-00")
        })
        let response = harness.get("/calls/export.csv")
        #expect(response.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(response.header("Content-Disposition")?.contains("attachment") == true)
        guard case .stream = response.body else {
            Issue.record("export must stream")
            return
        }
        let lines = harness.body(response).split(separator: "\r\n")
        #expect(lines.count == 1_235)
        #expect(lines[1].contains("\"'=cmd|x,\"\"y\"\"\""))
        #expect(lines[1].contains("Support <b>line</b>"))
    }

    @Test func statisticsShowsTotalsAndCharts() throws {
        let (harness, alice, app) = try aliceHarness()
        let now = harness.clock.now()
        _ = try CallStore(database: harness.database).upsert([
            call(alice, app, session: 1, at: now - 86_400, status: .answered),
            call(alice, app, session: 2, at: now - 86_400, status: .busy),
            call(alice, app, session: 3, at: now, status: .answered),
        ])
        let html = harness.body(harness.get("/statistics"))
        #expect(html.contains("id=\"total-calls\">3<"))
        #expect(html.contains("66.7%"))
        #expect(html.contains("<svg"))
        #expect(html.contains("11.40 ₽"))
        #expect(html.contains("Support &lt;b&gt;line&lt;/b&gt;"))
        #expect(!html.contains("unlinked-calls"))
        #expect(harness.get("/statistics?from=2026-02-30").status == .badRequest)

        // A synced call of a Voximplant application not created here has its own row, so the
        // rows add up to the total.
        var synced = call(alice, app, session: 4, at: now, status: .failed)
        synced.applicationID = 0
        _ = try CallStore(database: harness.database).upsert([synced])
        let withOther = harness.body(harness.get("/statistics"))
        #expect(withOther.contains("id=\"total-calls\">4<"))
        let row = try #require(withOther.range(of: #"<tr id="unlinked-calls""#).map { String(withOther[$0.lowerBound...].prefix(400)) })
        #expect(row.contains("Other calls") && row.contains(#"<td class="num">1</td>"#))
    }

    @Test func severalCurrenciesGetATotalAndACostChartEach() throws {
        let (harness, alice, rubApp) = try aliceHarness()
        let usdApp = try harness.database.environment.write { txn in
            try harness.database.accounts.put(txn, 11, Account(id: 11, ownerUserID: alice.id, voximplantAccountID: "2", name: "US", currency: "USD"))
            let app = Application(id: 21, accountID: 11, name: "Sales", elevenLabsAgentID: "agent_b", phoneNumber: "+12025550143")
            try harness.database.applications.put(txn, app.id, app)
            return app
        }
        let now = harness.clock.now()
        var dollars = call(alice, usdApp, session: 9, at: now - 86_400)
        dollars.cost = Money(micros: 1_250_000, currency: "USD")
        _ = try CallStore(database: harness.database).upsert([
            call(alice, rubApp, session: 1, at: now), call(alice, rubApp, session: 2, at: now - 86_400), dollars,
        ])
        let html = harness.body(harness.get("/statistics"))
        let charts = try #require(html.range(of: #"<section class="card" id="cost-charts">"#).map { String(html[$0.lowerBound...].prefix(40_000)) })
        #expect(charts.contains(#"<h3 class="currency" data-currency="RUB">RUB: 7.60 ₽</h3>"#))
        #expect(charts.contains(#"<h3 class="currency" data-currency="USD">USD: $1.25</h3>"#))
        #expect(charts.components(separatedBy: "<svg").count - 1 == 2)
        #expect(html.contains("7.60 ₽ · $1.25"))
        #expect(!html.contains("mixed currencies"))
    }
}

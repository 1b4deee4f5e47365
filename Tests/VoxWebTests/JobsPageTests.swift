import FastCGI
import Foundation
import Testing
import VoxCore
@testable import VoxWeb

@Suite struct JobsPageTests {
    @Test func adminRetriesAndDiscardsParkedJobs() throws {
        let harness = try TestHarness()
        var queue = JobQueue(database: harness.database, clock: harness.clock)
        queue.maxAttempts = 1
        for payload in ["11", "12"] {
            try harness.database.environment.write { txn in
                try queue.enqueue(kind: "fetch-transcript", payload: payload, dedupeKey: "t:\(payload)", in: txn)
            }
        }
        for job in try queue.claim(limit: 5) { try queue.fail(job, error: "ElevenLabs refused the API key") }
        harness.login()
        let page = harness.body(harness.get("/jobs"))
        #expect(page.contains("ElevenLabs refused the API key"))
        let ids = try queue.failed().map(\.id)
        #expect(ids.count == 2)
        let token = harness.csrfToken(on: "/jobs")
        #expect(harness.post("/jobs/\(ids[0])/retry", form: [], csrf: token).status == .seeOther)
        #expect(harness.post("/jobs/\(ids[1])/discard", form: [], csrf: token).status == .seeOther)
        #expect(try queue.failed().isEmpty)
        #expect(try queue.pending().map(\.payload) == ["11"])
        #expect(harness.body(harness.get("/jobs")).contains("no-failed"))
    }

    @Test func operatorsMayNotSeeJobs() throws {
        let harness = try TestHarness()
        _ = try Users(database: harness.database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
            .create(email: "op@example.com", role: .operator, password: TestHarness.password)
        harness.login(email: "op@example.com")
        #expect(harness.get("/jobs").status == .forbidden)
        #expect(!harness.body(harness.get("/")).contains("href=\"/jobs\""))
    }
}

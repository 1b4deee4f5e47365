import FastCGI
import Foundation
import ObjectStore
import Testing
import VoxCore
@testable import VoxServices
@testable import VoxWeb

/// Playback, download, tenancy, retention and the storage settings, through the pipeline.
@Suite struct RecordingPagesTests {
    let pages = CallPagesTests()

    /// Alice's call with a recording archived on local disk.
    func archivedCall(_ harness: TestHarness, _ alice: User, _ app: Application, session: UInt64 = 1,
                      at: Date? = nil) throws -> Call {
        var call = pages.call(alice, app, session: session, at: at ?? harness.clock.now() - 3600, from: "+7 999 123-45-67")
        let key = "calls/\(alice.id)/2026/11/\(session).wav"
        let file = harness.path + "-rec-\(session).wav"
        _ = FileManager.default.createFile(atPath: file, contents: Data("RIFF....WAVE".utf8))
        defer { unlink(file) }
        try harness.services.recordings.local.put(ObjectKey(key), fromFile: file, contentType: "audio/wav")
        call.recording = RecordingRef(store: RecordingRef.localStore, key: key, size: 12, contentType: "audio/wav", sha256: "00")
        let id = try CallStore(database: harness.database).upsert([call])[0].callID
        call.id = id
        return call
    }

    @Test func playbackIsAnInternalRedirectForTheOwnerOnly() throws {
        let (harness, alice, app) = try pages.aliceHarness()
        let call = try archivedCall(harness, alice, app)
        let play = harness.get("/recordings/\(call.id)")
        #expect(play.status == .ok)
        #expect(play.headers(named: "X-Accel-Redirect") == ["/_recordings/calls/\(alice.id)/2026/11/1.wav"])
        #expect(play.headers(named: "Content-Type") == ["audio/wav"])
        #expect(play.headers(named: "Content-Disposition") == ["inline"])

        let download = harness.get("/recordings/\(call.id)?download=1")
        let disposition = try #require(download.headers(named: "Content-Disposition").first)
        // The viewer's zone (Moscow), the caller's number, the call id.
        let stamp = Formatting(timeZone: TimeZone(identifier: "Europe/Moscow")!).fileStamp(call.startedAt)
        #expect(disposition.hasPrefix("attachment; filename=\"\(stamp)_79991234567_call-\(call.id).wav\""))

        let detail = harness.body(harness.get("/calls/\(call.id)"))
        #expect(detail.contains("<audio controls preload=\"metadata\" src=\"/recordings/\(call.id)\""))
        #expect(detail.contains("href=\"/recordings/\(call.id)?download=1\""))
        #expect(harness.body(harness.get("/calls")).contains("data-recording=\"/recordings/\(call.id)\""))

        // Bob, another tenant, gets the same answer as for a call without a recording.
        let users = Users(database: harness.database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        _ = try users.create(email: "bob@example.com", role: .operator, password: TestHarness.password)
        harness.cookies = [:]
        harness.login(email: "bob@example.com")
        let foreign = harness.get("/recordings/\(call.id)")
        #expect(foreign.status == .notFound)
        #expect(foreign.headers(named: "X-Accel-Redirect").isEmpty)
        #expect(harness.get("/recordings/999999").status == .notFound)
    }

    @Test func callsWithoutRecordingHaveNoPlayer() throws {
        let (harness, alice, app) = try pages.aliceHarness()
        let id = try CallStore(database: harness.database).upsert([pages.call(alice, app, session: 9, at: harness.clock.now())])[0].callID
        #expect(harness.get("/recordings/\(id)").status == .notFound)
        #expect(!harness.body(harness.get("/calls/\(id)")).contains("<audio"))
        #expect(!harness.body(harness.get("/calls")).contains("data-recording="))
    }

    @Test func retentionReleasesOldRecordingsThenDeletesTheirObjects() throws {
        let (harness, alice, app) = try pages.aliceHarness()
        let services = harness.services
        let now = harness.clock.now()
        let old = try archivedCall(harness, alice, app, session: 1, at: now - 40 * 86_400)
        let recent = try archivedCall(harness, alice, app, session: 2, at: now - 5 * 86_400)
        #expect(try services.retention.sweep() == 0, "retention is off by default")

        var settings = StorageSettings()
        settings.retentionDays = 30
        try harness.database.environment.write { txn in try harness.database.storageSettings.put(txn, StorageSettings.recordID, settings) }
        #expect(try services.retention.sweep() == 1)
        #expect(try services.calls.call(id: old.id, viewer: alice)?.recording == nil)
        #expect(try services.calls.call(id: recent.id, viewer: alice)?.recording != nil)
        // The object is still there until its deletion job runs; the call no longer points at it.
        let oldKey = try ObjectKey(old.recording!.key)
        #expect(try services.recordings.local.head(oldKey) != nil)
        let job = try #require(try services.jobs.pending().first { $0.kind == JobKind.deleteRecording.rawValue })
        #expect(try services.jobHandlers[.deleteRecording]!(job) == .done)
        #expect(try services.recordings.local.head(oldKey) == nil)
        #expect(try services.recordings.local.head(ObjectKey(recent.recording!.key)) != nil)
        #expect(try services.retention.sweep() == 0)
    }

    /// Only applications that ask for it have their conversations deleted with the recording.
    @Test func retentionQueuesConversationDeletionWhereTheApplicationAsks() throws {
        let (harness, alice, app) = try pages.aliceHarness()
        let now = harness.clock.now()
        var asking = app
        asking.id = 21
        asking.deleteElevenLabsConversations = true
        try harness.database.environment.write { txn in try harness.database.applications.put(txn, asking.id, asking) }
        var withConversation = try archivedCall(harness, alice, asking, session: 3, at: now - 40 * 86_400)
        withConversation.conversationID = "conv_old"
        _ = try CallStore(database: harness.database).upsert([withConversation])
        var otherApp = try archivedCall(harness, alice, app, session: 4, at: now - 40 * 86_400)
        otherApp.conversationID = "conv_kept"
        _ = try CallStore(database: harness.database).upsert([otherApp])

        var settings = StorageSettings()
        settings.retentionDays = 30
        try harness.database.environment.write { txn in try harness.database.storageSettings.put(txn, StorageSettings.recordID, settings) }
        #expect(try harness.services.retention.sweep() == 2)
        let deletions = try harness.services.jobs.pending().filter { $0.kind == JobKind.deleteConversation.rawValue }
        #expect(deletions.map(\.payload) == [String(withConversation.id)])
    }

    @Test func storageSettingsAreForAdminsAndValidated() throws {
        let harness = try TestHarness()
        harness.login()
        #expect(harness.body(harness.get("/setup")).contains("Recordings are archived to <strong>this server&#39;s disk</strong>")
            || harness.body(harness.get("/setup")).contains("this server's disk"))
        let csrf = harness.csrfToken(on: "/setup/storage")
        let bad = harness.post("/setup/storage", form: [("kind", "s3"), ("endpoint", "s3.amazonaws.com"), ("region", "us-east-1"),
                                                        ("bucket", "B"), ("access_key_id", "AKIA"), ("retention_days", "x")], csrf: csrf)
        #expect(bad.status == .unprocessableContent)
        let page = harness.body(bad)
        #expect(page.contains("Retention must be a whole number"))
        #expect(page.contains("The endpoint must look like"))
        #expect(page.contains("The bucket name must be"))
        #expect(page.contains("The secret access key is required"))
        #expect(try harness.services.recordings.settings() == StorageSettings(), "nothing saved")

        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let saved = harness.post("/setup/storage", form: [
            ("kind", "s3"), ("endpoint", "https://s3.eu-central-1.amazonaws.com/"), ("region", "eu-central-1"), ("bucket", "call-recordings"),
            ("addressing", "virtual-host"), ("access_key_id", "AKIAIOSFODNN7EXAMPLE"), ("secret", secret), ("retention_days", "90"),
        ], csrf: csrf)
        #expect(saved.status == .ok)
        #expect(!harness.body(saved).contains(secret))
        let settings = try harness.services.recordings.settings()
        #expect(settings.kind == .s3 && settings.s3Endpoint == "https://s3.eu-central-1.amazonaws.com" && settings.retentionDays == 90)
        let sealed = try #require(settings.s3SecretSealed)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("EXAMPLEKEY"))
        #expect(try harness.vault.open(sealed, at: StorageSettings.secretPlace) == secret)
        #expect(try harness.services.recordings.current().name == RecordingRef.s3Store)

        // An empty secret field keeps the saved secret.
        let again = harness.post("/setup/storage", form: [
            ("kind", "s3"), ("endpoint", "https://s3.eu-central-1.amazonaws.com"), ("region", "eu-central-1"), ("bucket", "call-recordings"),
            ("addressing", "path"), ("access_key_id", "AKIAIOSFODNN7EXAMPLE"), ("secret", ""), ("retention_days", "0"),
        ], csrf: csrf)
        #expect(again.status == .ok)
        #expect(try harness.services.recordings.settings().s3SecretSealed == sealed)

        let users = Users(database: harness.database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        _ = try users.create(email: "op@example.com", role: .operator, password: TestHarness.password)
        harness.cookies = [:]
        harness.login(email: "op@example.com")
        #expect(harness.get("/setup/storage").status == .forbidden)
        #expect(!harness.body(harness.get("/setup")).contains("storage-summary"))
    }

    @Test func storageTestReportsTheFailure() throws {
        let harness = try TestHarness()
        harness.login()
        let csrf = harness.csrfToken(on: "/setup/storage")
        // Nothing listens on port 9 of loopback: the test fails fast with a clear message.
        let response = harness.post("/setup/storage/test", form: [
            ("kind", "s3"), ("endpoint", "http://127.0.0.1:9"), ("region", "us-east-1"), ("bucket", "recordings"),
            ("addressing", "path"), ("access_key_id", "AK"), ("secret", "SK"), ("retention_days", "0"),
        ], csrf: csrf)
        #expect(response.status == .badGateway)
        #expect(harness.body(response).contains("Test failed: the store is unavailable"))
        #expect(try harness.services.recordings.settings() == StorageSettings(), "a test saves nothing")
        let local = harness.post("/setup/storage/test", form: [("kind", "local"), ("retention_days", "0")], csrf: csrf)
        #expect(harness.body(local).contains("Test passed"))
    }
}

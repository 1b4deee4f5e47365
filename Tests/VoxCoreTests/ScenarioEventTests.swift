import Foundation
import Testing
@testable import VoxCore

@Suite struct ScenarioEventTests {
    func event(_ json: String) throws -> ScenarioEvent {
        try ScenarioEvent(json: Array(json.utf8))
    }

    var sequence: [String] {
        [
            #"{"type":"call_started","application_id":1,"session_id":77,"sent_at":1790000000000,"from":"+79991112233","to":"74951234567"}"#,
            #"{"type":"conversation_started","application_id":"1","session_id":"77","sent_at":1790000002000,"conversation_id":"conv_a"}"#,
            #"{"type":"call_ended","application_id":1,"session_id":77,"sent_at":1790000060000,"duration":58,"reason":"disconnected"}"#,
        ]
    }

    @Test func everyOrderAndRepetitionGivesTheSameCall() throws {
        var results: [Call] = []
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1, 2, 0], [2, 2, 1, 1, 0, 0]] {
            let f = try CallFixture()
            let ingest = ScenarioEventIngest(database: f.database, jobs: JobQueue(database: f.database))
            for index in order {
                try f.database.environment.write { txn in try ingest.apply(try event(sequence[index]), in: txn) }
            }
            let calls = try f.queries.page(viewer: f.admin, filter: CallFilter()).calls
            #expect(calls.count == 1)
            var call = try #require(calls.first)
            call.id = 0
            results.append(call)
            // The transcript, the audio (the conversation's, as no Voximplant recording was
            // announced), and the session's cost and talk time from Voximplant's history.
            #expect(try JobQueue(database: f.database).pending().map(\.kind).sorted()
                == [JobKind.archiveRecording.rawValue, JobKind.fetchSession.rawValue, JobKind.fetchTranscript.rawValue])
        }
        let first = results[0]
        #expect(results.allSatisfy { $0 == first })
        #expect(first.status == .answered && first.durationSeconds == 58 && first.conversationID == "conv_a")
        #expect(first.fromNumber == "+79991112233")
        #expect(first.startedAt == Date(timeIntervalSince1970: 1_790_000_000))
    }

    @Test func archiveIsEnqueuedOnlyForCallsWithSomethingToArchive() throws {
        let f = try CallFixture()
        let jobs = JobQueue(database: f.database)
        let ingest = ScenarioEventIngest(database: f.database, jobs: jobs)
        @discardableResult
        func apply(_ json: String) throws -> ScenarioEventIngest.Applied {
            try f.database.environment.write { txn in try ingest.apply(try event(json), in: txn) }
        }
        // No recording, no conversation: nothing to fetch but the session's outcome from the
        // call history (later), and nothing to wake the runner for now.
        let bare = try apply(#"{"type":"call_ended","application_id":1,"session_id":5,"sent_at":1790000060000,"duration":0,"reason":"failed"}"#)
        #expect(try jobs.pending().map(\.kind) == [JobKind.fetchSession.rawValue])
        #expect(!bare.enqueuedJobs)
        // A recording announced after the end event still gets archived, once.
        try apply(#"{"type":"call_ended","application_id":1,"session_id":6,"sent_at":1790000060000,"duration":30}"#)
        let late = #"{"type":"recording_started","application_id":1,"session_id":6,"sent_at":1790000001000,"recording_url":"https://r.example/6.mp3"}"#
        #expect(try apply(late).enqueuedJobs)
        #expect(try !apply(late).enqueuedJobs)
        #expect(try jobs.pending().map(\.kind).filter { $0 != JobKind.fetchSession.rawValue } == [JobKind.archiveRecording.rawValue])
    }

    @Test func malformedEventsAreRefused() {
        for bad in [#"{"type":"call_started"}"#, #"{"type":"nope","application_id":1,"session_id":1,"sent_at":1}"#,
                    #"{"type":"call_ended","application_id":1,"session_id":"x","sent_at":1}"#,
                    #"{"type":"call_ended","application_id":1,"session_id":1,"sent_at":1,"duration":-5}"#] {
            #expect(throws: (any Error).self) { try event(bad) }
        }
    }

    @Test func unknownApplicationStoresNothing() throws {
        let f = try CallFixture()
        let ingest = ScenarioEventIngest(database: f.database, jobs: JobQueue(database: f.database))
        let foreign = try event(#"{"type":"call_started","application_id":999,"session_id":1,"sent_at":1790000000000}"#)
        #expect(throws: ScenarioEventIngest.Failure.unknownApplication) {
            try f.database.environment.write { txn in try ingest.apply(foreign, in: txn) }
        }
        #expect(try f.queries.count(viewer: f.admin, filter: CallFilter()) == 0)
    }
}

@Suite struct CallMaintenanceTests {
    @Test func closesOnlyCallsPastTheTimeout() throws {
        let f = try CallFixture()
        let clock = ManualClock(base + 4 * 3600)
        try f.insert([
            f.call(at: base, status: .inProgress, duration: 0, session: 1),  // 4 h old
            f.call(at: base + 3.5 * 3600, status: .inProgress, duration: 0, session: 2),  // 30 min old
            f.call(at: base, status: .answered, session: 3),
        ])
        let closed = try CallMaintenance(database: f.database, clock: clock).closeStale(timeout: 3 * 3600)
        #expect(closed == 1)
        let live = try f.queries.page(viewer: f.alice, filter: CallFilter(statuses: [.inProgress])).calls
        #expect(live.map(\.voximplantSessionID) == [2])
        let failed = try f.queries.page(viewer: f.alice, filter: CallFilter(statuses: [.failed])).calls
        #expect(failed.map(\.finishReason) == [CallMaintenance.timedOutReason])
        #expect(try f.stats(f.alice.id).count(.inProgress) == 1)
    }
}

/// Issue 12, section 4: an event is as trustworthy as the application that signed it.
@Suite struct ScenarioEventTenancyTests {
    func event(_ json: String) throws -> ScenarioEvent { try ScenarioEvent(json: Array(json.utf8)) }

    @Test func anEventOfOneTenantNeverChangesAnotherTenantsCall() throws {
        let f = try CallFixture()
        // Bob's call, session 500, on Bob's account.
        let bobs = try f.insert([f.call(owner: f.bob, at: base, from: "+12025550111", session: 500)])[0].callID
        let before = try #require(try f.queries.call(id: bobs, viewer: f.bob))
        // Alice's application (account 1) reports the same session id with other facts.
        let ingest = ScenarioEventIngest(database: f.database, jobs: JobQueue(database: f.database))
        for json in [
            #"{"type":"call_started","application_id":1,"session_id":500,"sent_at":1790000000000,"from":"+70000000000"}"#,
            #"{"type":"conversation_started","application_id":1,"session_id":500,"sent_at":1790000001000,"conversation_id":"conv_evil"}"#,
            #"{"type":"recording_started","application_id":1,"session_id":500,"sent_at":1790000001000,"recording_url":"https://evil.example/x.mp3"}"#,
            #"{"type":"call_ended","application_id":1,"session_id":500,"sent_at":1790000009000,"duration":0,"reason":"failed"}"#,
        ] {
            try f.database.environment.write { txn in try ingest.apply(try event(json), in: txn) }
        }
        #expect(try f.queries.call(id: bobs, viewer: f.bob) == before)
        // Alice got a call of her own instead.
        let alices = try f.queries.page(viewer: f.alice, filter: CallFilter()).calls
        #expect(alices.count == 1 && alices[0].id != bobs && alices[0].ownerUserID == f.alice.id)
    }

    @Test func aCallKeepsItsFirstConversation() throws {
        let f = try CallFixture()
        let ingest = ScenarioEventIngest(database: f.database, jobs: JobQueue(database: f.database))
        for conversation in ["conv_1", "conv_2"] {
            let json = #"{"type":"conversation_started","application_id":1,"session_id":9,"sent_at":1790000000000,"conversation_id":""# + conversation + #""}"#
            try f.database.environment.write { txn in try ingest.apply(try event(json), in: txn) }
        }
        #expect(try f.queries.page(viewer: f.alice, filter: CallFilter()).calls.map(\.conversationID) == ["conv_1"])
    }

    @Test func outOfRangeNumbersAreRefusedWithAMessage() {
        for (json, words) in [
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":9223372036854775807}"#, "sent_at"),
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":18446744073709551615}"#, "sent_at"),
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":18446744073709551616}"#, "sent_at"),
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":-1}"#, "sent_at"),
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":1e300}"#, "sent_at"),
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":"nan"}"#, "sent_at"),
            (#"{"type":"call_started","application_id":1,"session_id":1,"sent_at":0}"#, "sent_at"),
            (#"{"type":"call_ended","application_id":1,"session_id":1,"sent_at":1790000000000,"duration":1e300}"#, "duration"),
            (#"{"type":"call_ended","application_id":1,"session_id":18446744073709551616,"sent_at":1790000000000}"#, "session_id"),
        ] {
            do {
                _ = try event(json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(String(describing: error).contains(words), "\(json): \(error)")
            }
        }
    }
}

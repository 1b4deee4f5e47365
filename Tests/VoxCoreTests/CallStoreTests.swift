import Foundation
import KVStore
import Testing
@testable import VoxCore

@Suite struct CallStoreTests {
    @Test func upsertIsIdempotent() throws {
        let f = try CallFixture()
        let call = f.call(at: base, session: 42)
        let results = try f.insert([call, call, call])
        #expect(results[0] == .inserted(results[0].callID))
        #expect(results[1] == .unchanged(results[0].callID))
        #expect(results[2] == .unchanged(results[0].callID))
        #expect(try f.database.environment.read { txn in try f.database.calls.count(txn) } == 1)
        #expect(try f.stats(f.alice.id).count(.answered) == 1)
        #expect(try f.stats(0).total == 1)
        #expect(try f.stats(f.alice.id, app: f.aliceApp.id).costMicros == 100_000)
    }

    @Test func statusAndCostChangeMoveTheAggregates() throws {
        let f = try CallFixture()
        try f.insert([f.call(at: base, status: .inProgress, duration: 0, cost: 0, session: 7)])
        #expect(try f.stats(f.alice.id).count(.inProgress) == 1)
        let updated = try f.insert([f.call(at: base, status: .answered, duration: 95, cost: 250_000, session: 7)])
        #expect(updated[0] == .updated(updated[0].callID))
        let stats = try f.stats(f.alice.id)
        #expect(stats.count(.inProgress) == 0)
        #expect(stats.count(.answered) == 1)
        #expect(stats.total == 1)
        #expect(stats.answeredDurationSeconds == 95)
        #expect(stats.costMicros == 250_000)
        // The status index moved too: no in-progress call is found any more.
        let inProgress = try f.queries.page(viewer: f.alice, filter: CallFilter(statuses: [.inProgress]))
        #expect(inProgress.calls.isEmpty)
        let answered = try f.queries.page(viewer: f.alice, filter: CallFilter(statuses: [.answered]))
        #expect(answered.calls.map(\.durationSeconds) == [95])
    }

    @Test func startTimeChangeMovesIndexEntries() throws {
        let f = try CallFixture()
        try f.insert([f.call(at: base, session: 9)])
        try f.insert([f.call(at: base + 86_400 * 3, session: 9)])
        let day = CallFilter(from: base - 10, to: base + 10)
        #expect(try f.queries.page(viewer: f.alice, filter: day).calls.isEmpty)
        #expect(try f.queries.count(viewer: f.alice, filter: day) == 0)
        #expect(try f.queries.count(viewer: f.alice, filter: CallFilter()) == 1)
        let (all, alices) = try f.database.environment.read { txn throws in
            (try f.database.callIndex.count(txn), try f.database.callIndex.count(txn, .prefix(UInt64Key.self, f.alice.id)))
        }
        // date, status, and the number pieces 7999/7999123/4567 and 7495/7495123 (4567 again):
        // 7 entries, all under the owner's scope. None left from the old time.
        #expect(alices == 7)
        #expect(all == 7)
    }

    @Test func transcriptBeforeCallIsLinkedWhenCallArrives() throws {
        let f = try CallFixture()
        try f.database.environment.write { txn throws in
            try f.store.saveTranscript(Transcript(conversationID: "conv_1", turns: [.init(role: "agent", text: "Hi", secondsIntoCall: 0)]), owner: f.alice.id, in: txn)
        }
        var call = f.call(at: base)
        call.conversationID = "conv_1"
        let id = try f.insert([call])[0].callID
        #expect(try f.queries.call(id: id, viewer: f.alice)?.hasTranscript == true)
    }
}

extension CallStoreTests {
    /// The order a real call often takes: call_started (no conversation yet), the ElevenLabs
    /// post-call webhook, then the report that names the conversation.
    @Test func transcriptBeforeTheConversationIsKnownIsLinkedByTheUpdate() throws {
        let f = try CallFixture()
        let started = f.call(at: base, session: 77)
        let id = try f.insert([started])[0].callID
        try f.database.environment.write { txn throws in
            try f.store.saveTranscript(Transcript(conversationID: "conv_late", turns: [.init(role: "user", text: "refund please", secondsIntoCall: 3)]),
                                       owner: f.alice.id, in: txn)
        }
        #expect(try f.database.environment.read { txn throws in try f.database.orphanTranscripts.count(txn) } == 1)
        var ended = f.call(at: base, session: 77)
        ended.conversationID = "conv_late"
        #expect(try f.insert([ended])[0] == .updated(id))
        #expect(try f.queries.call(id: id, viewer: f.alice)?.hasTranscript == true)
        // No longer an orphan (the purge would have deleted it), and found by a search.
        #expect(try f.database.environment.read { txn throws in try f.database.orphanTranscripts.count(txn) } == 0)
        let found = try TranscriptSearch(database: f.database).search(try SearchQuery("refund"), viewer: f.alice, filter: CallFilter())
        #expect(found.calls.map(\.id) == [id])
    }
}

@Suite struct TenantIsolationTests {
    @Test func operatorsSeeOnlyTheirOwnCallsAdminSeesAll() throws {
        let f = try CallFixture()
        let shared = "+7 999 555-00-11"
        try f.insert([
            f.call(owner: f.alice, at: base, from: shared, status: .failed),
            f.call(owner: f.bob, at: base + 1, from: shared, status: .failed),
            f.call(owner: f.bob, at: base + 2, from: "+1 202 555 0199", status: .busy),
        ])
        for filter in [CallFilter(), CallFilter(statuses: [.failed]), CallFilter(number: "5550011"),
                       CallFilter(number: shared), CallFilter(from: base - 5, to: base + 5)] {
            let alice = try f.queries.page(viewer: f.alice, filter: filter).calls
            #expect(alice.allSatisfy { $0.ownerUserID == f.alice.id }, "filter \(filter)")
            #expect(alice.count == 1, "filter \(filter)")
            #expect(try f.queries.count(viewer: f.alice, filter: filter) == 1, "filter \(filter)")
            let bob = try f.queries.page(viewer: f.bob, filter: filter).calls
            #expect(bob.allSatisfy { $0.ownerUserID == f.bob.id })
        }
        #expect(try f.queries.count(viewer: f.admin, filter: CallFilter()) == 3)
        let bobsCall = try f.queries.page(viewer: f.bob, filter: CallFilter()).calls[0]
        #expect(try f.queries.call(id: bobsCall.id, viewer: f.alice) == nil)
        #expect(try f.queries.call(id: bobsCall.id, viewer: f.admin) != nil)
        var exported: [UInt64] = []
        try f.queries.forEach(viewer: f.alice, filter: CallFilter()) { exported.append($0.ownerUserID) }
        #expect(exported == [f.alice.id])
    }
}

@Suite struct UnknownApplicationTests {
    @Test func callOfNoKnownApplicationCountsOnce() throws {
        // Sync stores calls of Voximplant applications VoxFCGI did not create under application 0.
        let f = try CallFixture()
        var call = f.call(at: base)
        call.applicationID = 0
        try f.insert([call])
        #expect(try f.stats(f.alice.id).total == 1)
        #expect(try f.stats(0).total == 1)
        #expect(try f.queries.count(viewer: f.admin, filter: CallFilter()) == 1)
        #expect(try f.queries.count(viewer: f.admin, filter: CallFilter(from: base - 3600, to: base + 3600)) == 1)
    }
}

/// Issue 12, section 6: what grows without bound is purged.
@Suite struct PurgeTests {
    @Test func orphanTranscriptsPastTheRetentionGoLinkedOnesStay() throws {
        let f = try CallFixture()
        func transcript(_ id: String, at: Date) -> Transcript {
            var t = Transcript(conversationID: id, turns: [.init(role: "agent", text: "Hi", secondsIntoCall: 0)])
            t.receivedAt = at
            return t
        }
        try f.database.environment.write { txn throws in
            try f.store.saveTranscript(transcript("old_orphan", at: base - 10 * 86_400), owner: f.alice.id, in: txn)
            try f.store.saveTranscript(transcript("new_orphan", at: base), owner: f.alice.id, in: txn)
            try f.store.saveTranscript(transcript("old_linked", at: base - 10 * 86_400), owner: f.alice.id, in: txn)
        }
        var call = f.call(at: base)
        call.conversationID = "old_linked"
        let id = try f.insert([call])[0].callID
        #expect(try f.store.purgeOrphanTranscripts(before: base - 86_400) == 1)
        let left = try f.database.environment.read { txn throws in try f.database.transcripts.keys(txn).map(\.1) }
        #expect(Set(left) == ["new_orphan", "old_linked"])
        #expect(try f.queries.call(id: id, viewer: f.alice)?.hasTranscript == true)
        #expect(try f.database.environment.read { txn throws in try f.database.orphanTranscripts.count(txn) } == 1)
    }

    @Test func aResyncNeverMovesACallToAnotherOwner() throws {
        let f = try CallFixture()
        let id = try f.insert([f.call(owner: f.alice, at: base, session: 77)])[0].callID
        var moved = f.call(owner: f.alice, at: base, session: 77)
        moved.ownerUserID = f.bob.id
        #expect(try f.insert([moved])[0] == .unchanged(id))
        #expect(try f.queries.call(id: id, viewer: f.alice) != nil)
        #expect(try f.queries.page(viewer: f.bob, filter: CallFilter()).calls.isEmpty)
    }
}

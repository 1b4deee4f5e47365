import Foundation
import KVStore
import Testing
@testable import VoxCore

@Suite struct MigrationTests {
    /// A version-1 folder kept every call-index entry twice, under the owner and under 0, keyed
    /// by exact start, with a summary that had no start. Opened by this build, its index is
    /// rebuilt: one entry per facet keyed by minute, and every view reads as before.
    @Test func version1IndexIsRebuilt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        func call(owner: UInt64, session: UInt64, status: CallStatus) -> Call {
            Call(ownerUserID: owner, accountID: 1, applicationID: 1, voximplantSessionID: session, direction: .inbound,
                 fromNumber: "+79991234567", toNumber: "+74951234567", startedAt: start + Double(session),
                 durationSeconds: 30, status: status)
        }
        let perCall = Facet.all(for: call(owner: 1, session: 1, status: .answered)).count
        var admin: User!
        var alice: User!
        do {
            let database = try Database(path: path)
            let users = Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
            admin = try users.create(email: "admin@example.com", role: .admin, password: "admin password")
            alice = try users.create(email: "alice@example.com", role: .operator, password: "alice password")
            let calls = [call(owner: alice.id, session: 1, status: .answered), call(owner: alice.id, session: 2, status: .failed),
                         call(owner: 0, session: 3, status: .answered)]
            try CallStore(database: database).upsert(calls)
            // Make it what version 1 wrote: entries keyed by exact start, under the owner and
            // (for owned calls) a copy under 0, with the summary of that version.
            let raw = try database.environment.openTable("call_index", key: CallIndexKey.self, value: BytesValue.self)
            try database.environment.write { txn throws in
                try raw.removeAll(txn)
                try database.calls.scan(txn) { _, call in
                    var summary: [UInt8] = [call.status.rawValue]
                    summary.appendBigEndian(call.applicationID)
                    for digits in [call.fromDigits, call.toDigits] {
                        summary.append(UInt8(digits.utf8.count))
                        summary += Array(digits.utf8)
                    }
                    for scope in Set([call.ownerUserID, 0]) {
                        for facet in Facet.all(for: call) {
                            try raw.put(txn, (scope, facet, call.startMicros, call.id), summary)
                        }
                    }
                    return true
                }
            }
            let meta = try database.environment.openTable("meta", key: StringKey.self, value: BytesValue.self)
            try database.environment.write { txn throws in try meta.put(txn, "schema_version", [0, 0, 0, 1]) }
            #expect(try database.environment.read { txn throws in try database.callIndex.count(txn) } == 3 * perCall + 2 * perCall)
        }

        let database = try Database(path: path)
        #expect(try Schema.storedVersion(in: database.environment) == Database.schemaVersion)
        let queries = CallQueries(database: database)
        #expect(try database.environment.read { txn throws in try database.callIndex.count(txn) } == 3 * perCall)
        #expect(try database.environment.read { txn throws in try database.callScopes(txn) } == [0, alice.id])
        #expect(try queries.page(viewer: admin, filter: CallFilter()).calls.map(\.voximplantSessionID) == [3, 2, 1])
        #expect(try queries.count(viewer: admin, filter: CallFilter(statuses: [.failed])) == 1)
        #expect(try queries.page(viewer: alice, filter: CallFilter()).calls.map(\.voximplantSessionID) == [2, 1])
        #expect(try queries.count(viewer: alice, filter: CallFilter(number: "4567")) == 2)
        let keys = try database.environment.read { txn throws in try database.callIndex.keys(txn) }
        #expect(keys.allSatisfy { $0.2 == CallIndex.bucket(Time.micros(start)) })
    }

    /// A version-3 folder found calls by session id and by conversation id alone, and kept
    /// transcripts by conversation id. Opened by this build, they move under their account and
    /// owner: the same session id reported for another account is another call, and a
    /// transcript stays visible on its call.
    @Test func version3TablesMoveUnderTheirTenant() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        var alice: User!
        var callID: UInt64 = 0
        do {
            let database = try Database(path: path)
            alice = try Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
                .create(email: "alice@example.com", role: .operator, password: "alice password")
            try database.environment.write { txn throws in
                try database.accounts.put(txn, 1, Account(id: 1, ownerUserID: alice.id, voximplantAccountID: "555", name: "A"))
            }
            var call = Call(ownerUserID: alice.id, accountID: 1, applicationID: 0, voximplantSessionID: 42, conversationID: "conv_a",
                            direction: .inbound, fromNumber: "+79991234567", toNumber: "+74951234567", startedAt: start,
                            durationSeconds: 30, status: .answered)
            callID = try CallStore(database: database).upsert([call])[0].callID
            call.id = callID
            // What version 3 kept instead of the tenant-keyed tables.
            let bySession = try database.environment.openTable("calls_by_voximplant_id", key: UInt64Key.self, value: KeyAsValue<UInt64Key>.self)
            let byConversation = try database.environment.openTable("calls_by_conversation", key: StringKey.self, value: KeyAsValue<UInt64Key>.self)
            let transcripts = try database.environment.openTable("transcripts", key: StringKey.self, value: JSONValue<Transcript>.self)
            let meta = try database.environment.openTable("meta", key: StringKey.self, value: BytesValue.self)
            try database.environment.write { txn throws in
                try database.callsBySession.removeAll(txn)
                try database.callsByConversation.removeAll(txn)
                try database.transcripts.removeAll(txn)
                try database.accountsByVoximplantID.removeAll(txn)
                try bySession.put(txn, 42, callID)
                try byConversation.put(txn, "conv_a", callID)
                try transcripts.put(txn, "conv_a", Transcript(conversationID: "conv_a", turns: [.init(role: "agent", text: "Hello", secondsIntoCall: 1)]))
                try transcripts.put(txn, "conv_orphan", Transcript(conversationID: "conv_orphan", turns: []))
                try meta.put(txn, "schema_version", [0, 0, 0, 3])
            }
        }

        let database = try Database(path: path)
        #expect(try Schema.storedVersion(in: database.environment) == Database.schemaVersion)
        let store = CallStore(database: database)
        let found = try database.environment.read { txn throws in try store.existing(account: 1, session: 42, in: txn) }
        #expect(found?.id == callID)
        #expect(try database.environment.read { txn throws in try store.existing(account: 2, session: 42, in: txn) } == nil)
        let call = try #require(try CallQueries(database: database).call(id: callID, viewer: alice))
        #expect(try CallQueries(database: database).transcript(of: call)?.turns.first?.text == "Hello")
        #expect(try database.environment.read { txn throws in try database.orphanTranscripts.count(txn) } == 1)
        #expect(try database.environment.read { txn throws in try database.accountsByVoximplantID.get(txn, "555") } == 1)
        // The same session id from another account is a new call, not this one.
        let other = Call(ownerUserID: 99, accountID: 2, applicationID: 0, voximplantSessionID: 42, direction: .inbound,
                         fromNumber: "+1", toNumber: "+2", startedAt: start, status: .failed)
        #expect(try store.upsert([other])[0] != .updated(callID))
        #expect(try CallQueries(database: database).call(id: callID, viewer: alice)?.status == .answered)
    }
}

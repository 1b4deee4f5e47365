import Foundation
import KVStore

/// Writing calls: the record, its unique ids, its index entries and its statistics, always
/// together in one transaction.
public struct CallStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public enum UpsertResult: Equatable, Sendable {
        case inserted(UInt64)
        case updated(UInt64)
        case unchanged(UInt64)

        public var callID: UInt64 {
            switch self {
            case let .inserted(id), let .updated(id), let .unchanged(id): id
            }
        }
    }

    /// Inserts the call, or updates the one with the same Voximplant session id. `merge`
    /// decides what an update keeps of the stored call (by default: the stored id and what
    /// later stages added, such as the recording and the transcript flag).
    @discardableResult
    public func upsert(_ call: Call, in txn: WriteTransaction) throws -> UpsertResult {
        let existing = try database.callsByVoximplantID.get(txn, call.voximplantSessionID).flatMap { try database.calls.get(txn, $0) }
        return try upsert(call, existing: existing, in: txn)
    }

    /// `upsert` for a caller that has just read the stored call with the same session id
    /// (`existing`, in this transaction): the webhook's event ingest.
    func upsert(_ call: Call, existing: Call?, in txn: WriteTransaction) throws -> UpsertResult {
        // Stored times have microsecond precision: compare like with like.
        var call = try call.roundTripped()
        if let existing {
            call.id = existing.id
            call.recording = call.recording ?? existing.recording
            call.recordingURL = call.recordingURL ?? existing.recordingURL
            call.conversationID = call.conversationID ?? existing.conversationID
            call.hasTranscript = call.hasTranscript || existing.hasTranscript
            if call == existing { return .unchanged(existing.id) }
            try replace(existing, with: call, in: txn)
            return .updated(existing.id)
        }
        call.id = try database.nextID("calls", in: txn)
        if let conversation = call.conversationID, try database.transcripts.get(txn, conversation) != nil {
            call.hasTranscript = true
        }
        try replace(nil, with: call, in: txn)
        return .inserted(call.id)
    }

    /// Many calls in one transaction: for sync pages and seeding.
    @discardableResult
    public func upsert(_ calls: [Call]) throws -> [UpsertResult] {
        try database.environment.write { txn in try calls.map { try upsert($0, in: txn) } }
    }

    /// Changes a stored call through `change`. Index entries and statistics follow.
    @discardableResult
    public func update(id: UInt64, in txn: WriteTransaction, _ change: (inout Call) throws -> Void) throws -> Call? {
        guard let existing = try database.calls.get(txn, id) else { return nil }
        var call = existing
        try change(&call)
        call = try call.roundTripped()
        call.id = id
        call.voximplantSessionID = existing.voximplantSessionID
        if call != existing { try replace(existing, with: call, in: txn) }
        return call
    }

    /// The one place that writes a call: removes what the old version contributed (index
    /// entries, statistics) and adds what the new one does.
    private func replace(_ old: Call?, with new: Call, in txn: WriteTransaction) throws {
        if let old {
            // Delete every old entry, then write every new one: simpler than a diff, and
            // LMDB makes a delete and a put of the same key in one transaction cheap.
            try database.removeIndexEntries(of: old, in: txn)
            try addStats(old, sign: -1, in: txn)
            if old.recording != nil { try database.recordingsByStart.delete(txn, (old.startMicros, old.id)) }
            if let conversation = old.conversationID, conversation != new.conversationID {
                try database.callsByConversation.delete(txn, conversation)
            }
        }
        try database.addIndexEntries(of: new, in: txn)
        try addStats(new, sign: 1, in: txn)
        if new.recording != nil { try database.recordingsByStart.put(txn, (new.startMicros, new.id), ()) }
        try database.calls.put(txn, new.id, new)
        try database.callsByVoximplantID.put(txn, new.voximplantSessionID, new.id)
        if let conversation = new.conversationID {
            try database.callsByConversation.put(txn, conversation, new.id)
        }
    }

    private func addStats(_ call: Call, sign: Int64, in txn: WriteTransaction) throws {
        let quarter = Quarter.of(micros: call.startMicros)
        // Statistics do keep an "everything" scope (0) beside the owner's: a report reads a
        // handful of buckets, where merging every owner's would cost a read per owner. An id
        // of 0 (no owner or no known application) must not count twice.
        let deltas = txn.accumulator { CallStatsDeltas(table: database.callStats) }
        for scope in call.ownerUserID == 0 ? [0] : [call.ownerUserID, 0] {
            for app in call.applicationID == 0 ? [0] : [call.applicationID, 0] {
                for bucket in [quarter, Quarter.allTime] {
                    deltas.add(call, sign: sign, to: CallStatsDeltas.Key(scope: scope, app: app, quarter: bucket))
                }
            }
        }
    }

    /// Stores a transcript and flags its call, if the call is known yet. A transcript that
    /// arrives first waits in its table and is linked when the call is upserted.
    public func saveTranscript(_ transcript: Transcript, in txn: WriteTransaction) throws {
        try database.transcripts.put(txn, transcript.conversationID, transcript)
        if let callID = try database.callsByConversation.get(txn, transcript.conversationID) {
            try update(id: callID, in: txn) { $0.hasTranscript = true }
        }
    }
}

extension Call {
    /// The call as it reads back from storage: times at whole microseconds, as `CallCodec`
    /// stores them, without encoding and decoding the whole record.
    func roundTripped() throws -> Call {
        var call = self
        call.startedAt = CallCodec.date(CallCodec.micros(startedAt))
        call.endedAt = endedAt.map { CallCodec.date(CallCodec.micros($0)) }
        return call
    }
}

/// What a commit's calls change in the statistics, summed per bucket and written once before
/// the commit (see `CommitAccumulator`): a group commit of webhook events read and wrote the
/// same eight buckets once per event.
final class CallStatsDeltas: CommitAccumulator {
    struct Key: Hashable {
        let scope: UInt64, app: UInt64, quarter: UInt32
    }

    let table: Table<CallStatsKey, CallStatsCodec>
    private var deltas: [Key: CallStatsBucket] = [:]

    init(table: Table<CallStatsKey, CallStatsCodec>) { self.table = table }

    func add(_ call: Call, sign: Int64, to key: Key) {
        deltas[key, default: CallStatsBucket()].add(call, sign: sign)
    }

    func flush(_ txn: WriteTransaction) throws {
        for (key, delta) in deltas {
            let stored = (key.scope, key.app, key.quarter)
            var bucket = try table.get(txn, stored) ?? CallStatsBucket()
            bucket.add(delta)
            if bucket.isEmpty {
                try table.delete(txn, stored)
            } else {
                try table.put(txn, stored, bucket)
            }
        }
    }
}

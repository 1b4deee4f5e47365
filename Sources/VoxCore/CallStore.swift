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

    /// Inserts the call, or updates the one of the same account with the same Voximplant
    /// session id. An update keeps the stored id, owner and account, and what later stages
    /// added (the recording, the conversation, the transcript flag).
    @discardableResult
    public func upsert(_ call: Call, in txn: WriteTransaction) throws -> UpsertResult {
        try upsert(call, existing: existing(account: call.accountID, session: call.voximplantSessionID, in: txn), in: txn)
    }

    /// The call of `account` with Voximplant session id `session`: the only way to find a call
    /// from what an outsider reports, so the account always comes with it.
    public func existing(account: UInt64, session: UInt64, in txn: some ReadableTransaction) throws -> Call? {
        try database.callsBySession.get(txn, (account, session)).flatMap { try database.calls.get(txn, $0) }
    }

    /// `upsert` for a caller that has just read the stored call with the same session id
    /// (`existing`, in this transaction): the webhook's event ingest.
    func upsert(_ call: Call, existing: Call?, in txn: WriteTransaction) throws -> UpsertResult {
        // Stored times have microsecond precision: compare like with like.
        var call = try call.roundTripped()
        if let existing {
            call.id = existing.id
            // A call never changes hands: whoever reports it again cannot move it.
            call.ownerUserID = existing.ownerUserID
            call.accountID = existing.accountID
            call.recording = call.recording ?? existing.recording
            call.recordingURL = call.recordingURL ?? existing.recordingURL
            // The first conversation id a call gets is its own; a later report cannot swap it
            // for another (whose transcript would then show on this call).
            call.conversationID = existing.conversationID ?? call.conversationID
            call.hasTranscript = call.hasTranscript || existing.hasTranscript
            // The call learns its conversation now (a call_started stored it without one, and
            // the ElevenLabs webhook came before this report): its waiting transcript is linked.
            if existing.conversationID == nil, !call.hasTranscript, let conversation = call.conversationID,
               try linkableTranscript(for: call, conversation: conversation, in: txn) {
                call.hasTranscript = true
            }
            call.costBreakdown = call.costBreakdown ?? existing.costBreakdown
            call.recordingNote = call.recordingNote ?? existing.recordingNote
            call.sources.formUnion(existing.sources)
            if call == existing { return .unchanged(existing.id) }
            try replace(existing, with: call, in: txn)
            return .updated(existing.id)
        }
        call.id = try database.nextID("calls", in: txn)
        if let conversation = call.conversationID, try linkableTranscript(for: call, conversation: conversation, in: txn) {
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
        call.ownerUserID = existing.ownerUserID
        call.accountID = existing.accountID
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
                try database.callsByConversation.delete(txn, (old.ownerUserID, conversation))
            }
        }
        try database.addIndexEntries(of: new, in: txn)
        try TranscriptIndex(database: database).update(from: old, to: new, in: txn)
        try addStats(new, sign: 1, in: txn)
        if new.recording != nil { try database.recordingsByStart.put(txn, (new.startMicros, new.id), ()) }
        try database.calls.put(txn, new.id, new)
        try database.callsBySession.put(txn, (new.accountID, new.voximplantSessionID), new.id)
        if let conversation = new.conversationID {
            try database.callsByConversation.put(txn, (new.ownerUserID, conversation), new.id)
            if old?.conversationID != conversation, new.hasTranscript {
                try unorphan(owner: new.ownerUserID, conversation: conversation, in: txn)
            }
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

    /// Stores a transcript under `owner` and flags its call, if the call is known yet and may
    /// have it (`ConversationLink`). A transcript that arrives first waits in its table, as an
    /// orphan, and is linked when the call is upserted.
    ///
    /// A transcript already stored through one ElevenLabs key is not replaced through another.
    public func saveTranscript(_ transcript: Transcript, owner: UInt64, in txn: WriteTransaction) throws {
        let key = (owner, transcript.conversationID)
        let stored = try database.transcripts.get(txn, key)
        if let storedKey = stored?.elevenLabsKeyID, storedKey != transcript.elevenLabsKeyID { return }
        var transcript = transcript
        // The arrival time keys the orphan index: the first one stays.
        let receivedAt = stored?.receivedAt ?? transcript.receivedAt ?? Date()
        transcript.receivedAt = receivedAt
        try database.transcripts.put(txn, key, transcript)
        if let callID = try database.callsByConversation.get(txn, key), let call = try database.calls.get(txn, callID),
           try ConversationLink.allows(call, transcriptKey: transcript.elevenLabsKeyID, database: database, in: txn) {
            if call.hasTranscript {
                // Already linked and indexed: the new text replaces the old in the index.
                let index = TranscriptIndex(database: database)
                if let stored { try index.remove(stored, for: call, in: txn) }
                try index.add(transcript, for: call, in: txn)
            }
            try update(id: callID, in: txn) { $0.hasTranscript = true }
            try unorphan(owner: owner, conversation: transcript.conversationID, in: txn)
        } else if stored == nil {
            try database.orphanTranscripts.put(txn, (Time.micros(receivedAt), owner, transcript.conversationID), ())
        }
    }

    /// Whether a stored transcript of the call's owner with this conversation id may be linked.
    private func linkableTranscript(for call: Call, conversation: String, in txn: WriteTransaction) throws -> Bool {
        guard let transcript = try database.transcripts.get(txn, (call.ownerUserID, conversation)) else { return false }
        return try ConversationLink.allows(call, transcriptKey: transcript.elevenLabsKeyID, database: database, in: txn)
    }

    /// Deletes transcripts that arrived before `cutoff` and still have no call: a webhook for a
    /// conversation no call of ours ever named (another scenario's, or forged by a tenant for
    /// itself) is not kept forever. Oldest first, in batches. Returns how many.
    @discardableResult
    public func purgeOrphanTranscripts(before cutoff: Date, batch: Int = 1_000) throws -> Int {
        let below = Time.micros(cutoff)
        var total = 0
        while true {
            let purged = try database.environment.write { txn -> Int in
                let keys = try database.orphanTranscripts.keys(txn, .halfOpen(from: (0, 0, ""), below: (below, 0, "")), limit: batch)
                for key in keys {
                    try database.orphanTranscripts.delete(txn, key)
                    // Only if still an orphan: a call may have linked it since.
                    if try database.callsByConversation.get(txn, (key.1, key.2)) == nil {
                        try database.transcripts.delete(txn, (key.1, key.2))
                    }
                }
                return keys.count
            }
            total += purged
            if purged < batch { return total }
        }
    }

    private func unorphan(owner: UInt64, conversation: String, in txn: WriteTransaction) throws {
        guard let receivedAt = try database.transcripts.get(txn, (owner, conversation))?.receivedAt else { return }
        try database.orphanTranscripts.delete(txn, (Time.micros(receivedAt), owner, conversation))
    }
}

/// The one rule for which transcripts a call may show: one of its own owner (the tables are
/// keyed so), that came through the ElevenLabs key its application uses. A transcript with no
/// key on record (stored before keys were recorded) passes on the owner alone.
public enum ConversationLink {
    public static func allows(_ call: Call, transcriptKey: UInt64?, database: Database, in txn: some ReadableTransaction) throws -> Bool {
        guard let transcriptKey else { return true }
        return try database.applicationCache.get(txn, call.applicationID)?.elevenLabsKeyID == transcriptKey
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

import KVStore

/// The full-text index over transcripts and their summaries, per owner, written in the
/// transaction that links a transcript to its call (`CallStore`): a search never finds a call
/// it cannot show, nor misses one that has just been committed.
///
/// Only transcripts linked to a call are indexed (an orphan has no call to open). The owner is
/// the call's, so a search reads only the owners `Visibility` allows, as Call History does.
///
/// Tables: `transcriptTerms` (owner, term, quarter-hour from the newest) → `PostingBlock`;
/// `transcriptLexicon` (owner, term) → nothing, for expanding a prefix. The lexicon only
/// grows: a term whose last call left still expands, and finds nothing.
struct TranscriptIndex {
    let database: Database

    /// Words indexed per transcript; a longer one (from outside, so possibly hostile) is
    /// indexed up to here.
    static let maxWords = 20_000
    /// Positions kept per term per call: enough for phrases in any real conversation.
    static let maxPositionsPerTerm = 256

    /// The quarter-hour keys count down, so that key order is newest first.
    static func quarterKey(_ startMicros: UInt64) -> UInt32 { UInt32.max - Quarter.of(micros: startMicros) }

    /// Term → its word positions. Turns come first, then the summary, with a gap between
    /// texts so that a phrase never spans two speakers.
    static func positions(of transcript: Transcript) -> [String: [UInt32]] {
        var positions: [String: [UInt32]] = [:]
        var position: UInt32 = 0
        var words = 0
        for text in transcript.turns.lazy.map(\.text) + [transcript.summary ?? ""] {
            for term in SearchText.terms(in: text) {
                guard words < maxWords else { return positions }
                words += 1
                if positions[term, default: []].count < maxPositionsPerTerm { positions[term, default: []].append(position) }
                position += 1
            }
            position += 1
        }
        return positions
    }

    func add(_ transcript: Transcript, for call: Call, in txn: WriteTransaction) throws {
        let quarter = Quarter.of(micros: call.startMicros)
        for (term, positions) in Self.positions(of: transcript) {
            let key = (call.ownerUserID, term, Self.quarterKey(call.startMicros))
            let posting = Posting(startMicros: call.startMicros, callID: call.id, positions: positions)
            if let block = try database.transcriptTerms.get(txn, key) {
                try database.transcriptTerms.put(txn, key, try PostingBlock.inserting(posting, into: block, quarter: quarter))
            } else {
                try database.transcriptTerms.put(txn, key, PostingBlock.encode([posting], quarter: quarter))
                if try !database.transcriptLexicon.contains(txn, (call.ownerUserID, term)) {
                    try database.transcriptLexicon.put(txn, (call.ownerUserID, term), ())
                }
            }
        }
    }

    func remove(_ transcript: Transcript, for call: Call, in txn: WriteTransaction) throws {
        let quarter = Quarter.of(micros: call.startMicros)
        for term in Self.positions(of: transcript).keys {
            let key = (call.ownerUserID, term, Self.quarterKey(call.startMicros))
            guard let block = try database.transcriptTerms.get(txn, key),
                  let rest = try PostingBlock.removing(callID: call.id, from: block, quarter: quarter) else { continue }
            if rest.isEmpty {
                try database.transcriptTerms.delete(txn, key)
            } else {
                try database.transcriptTerms.put(txn, key, rest)
            }
        }
    }

    /// Keeps the index in step with a call that is written: `old` and `new` as `CallStore`
    /// replaces one with the other. A call is indexed while it has a transcript it may show.
    func update(from old: Call?, to new: Call, in txn: WriteTransaction) throws {
        let wasIndexed = old?.hasTranscript == true && old?.conversationID != nil
        let isIndexed = new.hasTranscript && new.conversationID != nil
        guard wasIndexed || isIndexed else { return }
        if wasIndexed, let old, isIndexed, old.startMicros == new.startMicros, old.conversationID == new.conversationID { return }
        if wasIndexed, let old, let transcript = try transcript(of: old, in: txn) { try remove(transcript, for: old, in: txn) }
        if isIndexed, let transcript = try transcript(of: new, in: txn) { try add(transcript, for: new, in: txn) }
    }

    private func transcript(of call: Call, in txn: WriteTransaction) throws -> Transcript? {
        guard let conversation = call.conversationID else { return nil }
        return try database.transcripts.get(txn, (call.ownerUserID, conversation))
    }

    /// The terms of `owner` that begin with `prefix`, in order, at most `limit`.
    func expand(_ prefix: String, owner: UInt64, limit: Int, in txn: some ReadableTransaction) throws -> [String] {
        var terms: [String] = []
        try database.transcriptLexicon.scan(txn, .halfOpen(from: (owner, prefix), below: nil), limit: limit) { key, _ in
            guard key.0 == owner, key.1.hasPrefix(prefix) else { return false }
            terms.append(key.1)
            return true
        }
        return terms
    }
}

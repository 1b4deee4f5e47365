import KVStore

/// The full-text index over transcripts and their summaries, per owner, written in the
/// transaction that links a transcript to its call (`CallStore`): a search never finds a call
/// it cannot show, nor misses one that has just been committed.
///
/// Only transcripts linked to a call are indexed (an orphan has no call to open). The owner is
/// the call's, so a search reads only the owners `Visibility` allows, as Call History does.
///
/// Tables: `transcriptTerms` (owner, term, block start from the newest) → `PostingBlock`;
/// `transcriptLexicon` (owner, term) → nothing, for expanding a prefix. The lexicon only
/// grows: a term whose last call left still expands, and finds nothing.
struct TranscriptIndex {
    /// (owner, term, `UInt64.max` − block start, `UInt64.max` − its call id): key order is
    /// newest block first. A block's start is the (start, id) of its oldest posting or lower:
    /// with the id in it, two blocks of calls that started in the same microsecond (a batch
    /// moved by a sync) still have keys of their own.
    typealias TermsKey = Quad<UInt64Key, TerminatedStringKey, UInt64Key, UInt64Key>

    static func key(_ owner: UInt64, _ term: String, _ lower: PostingKey) -> (UInt64, String, UInt64, UInt64) {
        (owner, term, .max - lower.second, .max - lower.callID)
    }

    static func lower(of key: (UInt64, String, UInt64, UInt64)) -> PostingKey {
        PostingKey(second: .max - key.2, callID: .max - key.3)
    }

    let database: Database

    /// Words indexed per transcript; a longer one (from outside, so possibly hostile) is
    /// indexed up to here.
    static let maxWords = 20_000
    /// Positions kept per term per call: enough for phrases in any real conversation.
    static let maxPositionsPerTerm = 256

    /// Term (UTF-8) → its word positions. Turns come first, then the summary, with a gap
    /// between texts so that a phrase never spans two speakers.
    static func positions(of transcript: Transcript) -> [[UInt8]: [UInt32]] {
        var positions: [[UInt8]: [UInt32]] = [:]
        var position: UInt32 = 0
        var words = 0
        for text in transcript.turns.lazy.map(\.text) + [transcript.summary ?? ""] {
            guard words < maxWords else { break }
            SearchText.termBytes(in: text) { term in
                words += 1
                positions[term, default: []].appendIfRoom(position, limit: maxPositionsPerTerm)
                position += 1
                return words < maxWords
            }
            position += 1
        }
        return positions
    }

    /// The block that holds (or would hold) a posting at `at`: the newest block starting at or
    /// before it, else the oldest block (which the posting then extends).
    private func block(owner: UInt64, term: String, at: PostingKey,
                       in txn: some ReadableTransaction) throws -> (lower: PostingKey, bytes: [UInt8])? {
        var found: (PostingKey, [UInt8])?
        let newest = Self.key(owner, term, at), oldest = Self.key(owner, term, .min)
        try database.transcriptTerms.scan(txn, .closed(newest, oldest), limit: 1) { key, value in
            found = (Self.lower(of: key), value)
            return false
        }
        if found == nil {
            try database.transcriptTerms.scan(txn, .closed(Self.key(owner, term, .max), oldest), direction: .backward, limit: 1) { key, value in
                found = (Self.lower(of: key), value)
                return false
            }
        }
        return found
    }

    /// Adds the call's postings. They are written when the transaction commits (see
    /// `PendingPostings`), merged with the other calls' of the same commit.
    func add(_ transcript: Transcript, for call: Call, in txn: WriteTransaction) throws {
        let pending = txn.accumulator { PendingPostings(index: self) }
        let at = PostingKey(call)
        for (term, positions) in Self.positions(of: transcript) {
            pending.insert(owner: call.ownerUserID, term: term, key: at, positions: PostingBlock.encodePositions(positions))
        }
    }

    func remove(_ transcript: Transcript, for call: Call, in txn: WriteTransaction) throws {
        let pending = txn.accumulator { PendingPostings(index: self) }
        let at = PostingKey(call)
        for term in Self.positions(of: transcript).keys { pending.remove(owner: call.ownerUserID, term: term, key: at) }
    }

    /// Writes what `add` and `remove` left for the commit now (a migration that indexes every
    /// transcript in one transaction keeps its memory bounded so).
    func flushPending(_ txn: WriteTransaction) throws {
        try txn.accumulator { PendingPostings(index: self) }.flush(txn)
    }

    /// One term's changes of a commit: stored entries to remove, then new postings merged
    /// into their blocks, each block read and written once.
    func apply(owner: UInt64, term: String, removals: [PostingKey], inserts: [(key: PostingKey, positions: [UInt8])],
               in txn: WriteTransaction) throws {
        for key in removals {
            guard let (lower, bytes) = try block(owner: owner, term: term, at: key, in: txn) else { continue }
            var entries = try PostingBlock.decode(bytes, lower: lower)
            let before = entries.count
            entries.removeAll { $0.callID == key.callID }
            guard entries.count < before else { continue }
            if entries.isEmpty {
                try database.transcriptTerms.delete(txn, Self.key(owner, term, lower))
            } else {
                try database.transcriptTerms.put(txn, Self.key(owner, term, lower), PostingBlock.encode(entries[...], lower: lower, block: bytes))
            }
        }
        guard !inserts.isEmpty else { return }
        // The new positions in one buffer, newest first.
        let sorted = inserts.sorted { $0.key > $1.key }
        var extra: [UInt8] = []
        var fresh: [PostingEntry] = []
        for insert in sorted {
            fresh.append(PostingEntry(key: insert.key, positions: extra.count..<(extra.count + insert.positions.count), source: 1))
            extra.append(contentsOf: insert.positions)
        }
        var rest = fresh[...]
        while let newest = rest.first {
            guard let (lower, bytes) = try block(owner: owner, term: term, at: newest.key, in: txn) else {
                // The term's first calls of this owner.
                try write(owner, term, rest, lower: rest.last!.key, block: [], extra: extra)
                if try !database.transcriptLexicon.contains(txn, (owner, term)) {
                    try database.transcriptLexicon.put(txn, (owner, term), ())
                }
                return
            }
            // Everything at or above the block's start goes into it (a newer block would
            // start above `newest`); older than every block, the oldest block extends down.
            let intoBlock = newest.key < lower ? rest : rest.prefix { $0.key >= lower }
            rest = rest.dropFirst(intoBlock.count)
            let ids = Set(intoBlock.map(\.callID))
            let stored = try PostingBlock.decode(bytes, lower: lower).filter { !ids.contains($0.callID) }
            var merged: [PostingEntry] = []
            merged.reserveCapacity(stored.count + intoBlock.count)
            var i = stored.startIndex, j = intoBlock.startIndex
            while i < stored.endIndex || j < intoBlock.endIndex {
                if j == intoBlock.endIndex || (i < stored.endIndex && stored[i].key > intoBlock[j].key) {
                    merged.append(stored[i]); i += 1
                } else {
                    merged.append(intoBlock[j]); j += 1
                }
            }
            let bottom = min(lower, merged.last!.key)
            if bottom != lower { try database.transcriptTerms.delete(txn, Self.key(owner, term, lower)) }
            try write(owner, term, merged[...], lower: bottom, block: bytes, extra: extra)
        }

        func write(_ owner: UInt64, _ term: String, _ entries: ArraySlice<PostingEntry>, lower: PostingKey,
                   block: [UInt8], extra: [UInt8]) throws {
            let encoded = PostingBlock.encode(entries, lower: lower, block: block, extra: extra)
            guard entries.count > 1, PostingBlock.isFull(entries.count, bytes: encoded.count) else {
                return try database.transcriptTerms.put(txn, Self.key(owner, term, lower), encoded)
            }
            // Too big: the newer half gets a block of its own, starting at its oldest posting.
            let half = entries.startIndex + entries.count / 2
            try write(owner, term, entries[half...], lower: lower, block: block, extra: extra)
            try write(owner, term, entries[..<half], lower: entries[half - 1].key, block: block, extra: extra)
        }
    }

    /// The positions of `term` in one call's transcript, if it has the term.
    func positions(of term: String, in call: Call, txn: some ReadableTransaction) throws -> [UInt32]? {
        let at = PostingKey(call)
        guard let (lower, bytes) = try block(owner: call.ownerUserID, term: term, at: at, in: txn), lower <= at,
              let entry = try PostingBlock.decode(bytes, lower: lower).first(where: { $0.callID == call.id }) else { return nil }
        return try PostingBlock.positions(bytes, entry.positions)
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

    /// The terms of `owner` that begin with `prefix`, in order, at most `limit`; first the
    /// prefix's own stem, if it was indexed (a whole word typed with `*`).
    func expand(_ prefix: String, owner: UInt64, limit: Int, in txn: some ReadableTransaction) throws -> [String] {
        var terms: [String] = []
        let stem = SearchText.stemmed(prefix)
        if stem != prefix, try database.transcriptLexicon.contains(txn, (owner, stem)) { terms.append(stem) }
        try database.transcriptLexicon.scan(txn, .halfOpen(from: (owner, prefix), below: nil), limit: limit) { key, _ in
            guard key.0 == owner, key.1.hasPrefix(prefix) else { return false }
            if key.1 != stem { terms.append(key.1) }
            return true
        }
        return terms
    }
}

extension Array where Element == UInt32 {
    @inline(__always)
    fileprivate mutating func appendIfRoom(_ value: UInt32, limit: Int) {
        if count < limit { append(value) }
    }
}

/// The index changes of one commit, by owner and term (see `TranscriptIndex.add`). Writing a
/// posting block costs a read and a write of a few hundred bytes per term; a commit of many
/// transcripts (the webhook path commits groups) shares the common terms' blocks, so each is
/// rewritten once per commit rather than once per transcript.
final class PendingPostings: CommitAccumulator {
    struct Term: Hashable {
        let owner: UInt64
        let term: [UInt8]
    }

    struct Changes {
        /// Keys of stored entries to remove.
        var removals: [PostingKey] = []
        /// The last posting added per call id.
        var inserts: [UInt64: (key: PostingKey, positions: [UInt8])] = [:]
    }

    let index: TranscriptIndex
    private var terms: [Term: Changes] = [:]

    init(index: TranscriptIndex) { self.index = index }

    func insert(owner: UInt64, term: [UInt8], key: PostingKey, positions: [UInt8]) {
        terms[Term(owner: owner, term: term), default: Changes()].inserts[key.callID] = (key, positions)
    }

    func remove(owner: UInt64, term: [UInt8], key: PostingKey) {
        let id = Term(owner: owner, term: term)
        // A posting added in this commit was never stored: forgetting it is the removal.
        if terms[id]?.inserts.removeValue(forKey: key.callID) == nil {
            terms[id, default: Changes()].removals.append(key)
        }
    }

    func flush(_ txn: WriteTransaction) throws {
        let pending = terms
        terms = [:]
        for (id, changes) in pending {
            try index.apply(owner: id.owner, term: String(decoding: id.term, as: UTF8.self), removals: changes.removals,
                            inserts: Array(changes.inserts.values), in: txn)
        }
    }
}

import KVStore

/// A posting list read newest first, that can jump: what an AND of terms needs to skip the
/// calls one term has and another does not (a rare word beside a common one reads only the
/// common word's blocks at the rare word's calls).
protocol PostingStream {
    /// The posting at or below the last seek, nil when the list is done.
    var current: PostingKey? { get }
    /// Moves to the first posting at or below `key` (never back up).
    mutating func seek(atOrBelow key: PostingKey) throws
}

/// One term of one owner, between `low` and the first seek.
struct TermStream: PostingStream {
    let table: Table<TranscriptIndex.TermsKey, BytesValue>
    let txn: ReadTransaction
    let owner: UInt64
    let term: String
    let low: PostingKey
    private(set) var current: PostingKey?
    private var bytes: [UInt8] = []
    private var block: [PostingEntry] = []
    private var blockLower: PostingKey?
    private var index = 0
    private var done = false

    init(table: Table<TranscriptIndex.TermsKey, BytesValue>, txn: ReadTransaction, owner: UInt64, term: String, low: PostingKey) {
        self.table = table
        self.txn = txn
        self.owner = owner
        self.term = term
        self.low = low
    }

    mutating func seek(atOrBelow key: PostingKey) throws {
        guard !done, key >= low else { return finish() }
        if let current, current <= key { return }
        // Nothing loaded yet, or the key is older than the loaded block: jump to the block
        // that holds the key's time (the newest starting at or before it).
        if blockLower.map({ $0 > key }) ?? true {
            guard try load(atOrBelow: key) else { return finish() }
        }
        while true {
            while index < block.count, block[index].key > key { index += 1 }
            if index < block.count {
                let posting = block[index].key
                guard posting >= low else { return finish() }
                current = posting
                return
            }
            // This block is used up: the next older one.
            guard let lower = blockLower, lower > low, let next = lower.predecessor,
                  try load(atOrBelow: next) else { return finish() }
        }
    }

    /// Loads the newest block starting at or before `key`; false if there is none.
    private mutating func load(atOrBelow key: PostingKey) throws -> Bool {
        var found: (PostingKey, [UInt8])?
        let range = KeyRange<TranscriptIndex.TermsKey>.closed(TranscriptIndex.key(owner, term, key), TranscriptIndex.key(owner, term, .min))
        try table.scan(txn, range, limit: 1) { key, value in
            found = (TranscriptIndex.lower(of: key), value)
            return false
        }
        guard let (lower, bytes) = found else { return false }
        block = try PostingBlock.decode(bytes, lower: lower)
        self.bytes = bytes
        blockLower = lower
        index = 0
        return true
    }

    private mutating func finish() {
        done = true
        current = nil
    }

    /// The word positions of the current posting.
    func positions() throws -> [UInt32] {
        guard current != nil, index < block.count else { return [] }
        return try PostingBlock.positions(bytes, block[index].positions)
    }
}

/// Any of several streams (the words a prefix expands to): the newest of their heads.
struct UnionStream: PostingStream {
    var streams: [TermStream]
    private(set) var current: PostingKey?

    init(_ streams: [TermStream]) { self.streams = streams }

    mutating func seek(atOrBelow key: PostingKey) throws {
        if let current, current <= key { return }
        for i in streams.indices { try streams[i].seek(atOrBelow: key) }
        current = streams.compactMap(\.current).max()
    }
}

/// Words next to each other, in order: every word's stream at the same call, and a position
/// of the first word followed by the second at the next position, and so on.
struct PhraseStream: PostingStream {
    var words: [TermStream]
    private(set) var current: PostingKey?
    /// Calls whose positions were compared: two common words that are rarely adjacent would
    /// otherwise walk both lists whole within one seek.
    private var compared = 0
    let limit: Int

    init(_ words: [TermStream], limit: Int) {
        self.words = words
        self.limit = limit
    }

    mutating func seek(atOrBelow key: PostingKey) throws {
        if let current, current <= key { return }
        var target: PostingKey? = key
        while let wanted = target {
            guard let key = try Intersection.align(&words, atOrBelow: wanted) else { current = nil; return }
            let lists = try words.map { try $0.positions() }
            if Phrase.occurs(in: lists) {
                current = key
                return
            }
            compared += 1
            if compared > limit { throw SearchStopped(at: key) }
            target = key.predecessor
        }
        current = nil
    }
}

enum Phrase {
    /// Whether word i's positions hold p + i for some p of the first word's: one merge pass
    /// per word over sorted lists (positions are stored ascending).
    static func occurs(in lists: [[UInt32]]) -> Bool {
        guard var starts = lists.first, !starts.isEmpty else { return false }
        for (offset, list) in lists.enumerated().dropFirst() {
            var kept: [UInt32] = []
            var j = 0
            for start in starts {
                let (wanted, overflow) = start.addingReportingOverflow(UInt32(offset))
                guard !overflow else { continue }
                while j < list.count, list[j] < wanted { j += 1 }
                if j < list.count, list[j] == wanted { kept.append(start) }
            }
            guard !kept.isEmpty else { return false }
            starts = kept
        }
        return true
    }
}

/// A stream reached the work limit of one request at `at`: the search ends its page there,
/// and the next page starts below it.
struct SearchStopped: Error {
    let at: PostingKey
}

enum Intersection {
    /// Seeks every stream to the newest key at or below `key` that all of them have; nil
    /// when one runs out.
    static func align<S: PostingStream>(_ streams: inout [S], atOrBelow key: PostingKey) throws -> PostingKey? {
        var target = key
        while true {
            var agreed = true
            for i in streams.indices {
                try streams[i].seek(atOrBelow: target)
                guard let head = streams[i].current else { return nil }
                if head < target {
                    target = head
                    agreed = false
                }
            }
            if agreed { return target }
        }
    }
}

import KVStore

/// A posting list read newest first, that can jump: what an AND of terms needs to skip the
/// calls one term has and another does not (a rare word beside a common one reads only the
/// common word's blocks at the rare word's calls).
protocol PostingStream {
    /// The posting at or below the last seek, nil when the list is done.
    var current: Posting? { get }
    /// Moves to the first posting at or below `key` (never back up).
    mutating func seek(atOrBelow key: PostingKey) throws
}

/// One term of one owner, between `low` and the first seek.
struct TermStream: PostingStream {
    let table: Table<Triple<UInt64Key, TerminatedStringKey, UInt32Key>, BytesValue>
    let txn: ReadTransaction
    let owner: UInt64
    let term: String
    let low: PostingKey
    private(set) var current: Posting?
    private var block: [Posting] = []
    private var blockQuarter: UInt32?
    private var index = 0
    private var done = false
    /// Blocks read, for the work limit.
    private(set) var blocksRead = 0

    init(table: Table<Triple<UInt64Key, TerminatedStringKey, UInt32Key>, BytesValue>, txn: ReadTransaction,
         owner: UInt64, term: String, low: PostingKey) {
        self.table = table
        self.txn = txn
        self.owner = owner
        self.term = term
        self.low = low
    }

    mutating func seek(atOrBelow key: PostingKey) throws {
        guard !done, key >= low else { return finish() }
        if let current, current.key <= key { return }
        let wanted = Quarter.of(micros: key.startMicros)
        // Nothing loaded yet, or the loaded block is newer than the key: jump to the newest
        // block at or below the key's quarter.
        if blockQuarter.map({ $0 > wanted }) ?? true {
            guard try load(atOrBelow: wanted) else { return finish() }
        }
        while true {
            while index < block.count, block[index].key > key { index += 1 }
            if index < block.count {
                let posting = block[index]
                guard posting.key >= low else { return finish() }
                current = posting
                return
            }
            // This block is used up: the next older one.
            guard let quarter = blockQuarter, quarter > 0, try load(atOrBelow: quarter - 1) else { return finish() }
        }
    }

    /// Loads the newest block at or older than `quarter`; false if there is none above `low`.
    private mutating func load(atOrBelow quarter: UInt32) throws -> Bool {
        let lowQuarter = Quarter.of(micros: low.startMicros)
        guard quarter >= lowQuarter else { return false }
        let from = (owner, term, TranscriptIndex.quarterKey(Quarter.startMicros(quarter)))
        let to = (owner, term, TranscriptIndex.quarterKey(Quarter.startMicros(lowQuarter)))
        var found: (UInt32, [UInt8])?
        try table.scan(txn, .closed(from, to), limit: 1) { key, value in
            found = (UInt32.max - key.2, value)
            return false
        }
        guard let (loaded, bytes) = found else { return false }
        block = try PostingBlock.decode(bytes, quarter: loaded)
        blockQuarter = loaded
        index = 0
        blocksRead += 1
        return true
    }

    private mutating func finish() {
        done = true
        current = nil
    }
}

/// Any of several streams (the words a prefix expands to): the newest of their heads.
struct UnionStream: PostingStream {
    var streams: [TermStream]
    private(set) var current: Posting?

    init(_ streams: [TermStream]) { self.streams = streams }

    mutating func seek(atOrBelow key: PostingKey) throws {
        if let current, current.key <= key { return }
        for i in streams.indices { try streams[i].seek(atOrBelow: key) }
        current = streams.compactMap(\.current).max { $0.key < $1.key }
    }
}

/// Words next to each other, in order: every word's stream at the same call, and a position
/// of the first word followed by the second at the next position, and so on.
struct PhraseStream: PostingStream {
    var words: [TermStream]
    private(set) var current: Posting?

    init(_ words: [TermStream]) { self.words = words }

    mutating func seek(atOrBelow key: PostingKey) throws {
        if let current, current.key <= key { return }
        var target: PostingKey? = key
        while let wanted = target {
            guard let key = try Intersection.align(&words, atOrBelow: wanted) else { current = nil; return }
            let lists = words.map { $0.current!.positions }
            let starts = lists[0].filter { start in
                lists.indices.dropFirst().allSatisfy { lists[$0].contains(start + UInt32($0)) }
            }
            if !starts.isEmpty {
                current = Posting(startMicros: key.startMicros, callID: key.callID, positions: starts)
                return
            }
            target = key.predecessor
        }
        current = nil
    }
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
                if head.key < target {
                    target = head.key
                    agreed = false
                }
            }
            if agreed { return target }
        }
    }
}

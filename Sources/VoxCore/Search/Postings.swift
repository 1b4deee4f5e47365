import KVStore

/// One call's occurrences of one term: where it starts (for newest-first order) and the word
/// positions in its transcript (for phrases).
struct Posting: Equatable {
    var startMicros: UInt64
    var callID: UInt64
    var positions: [UInt32]

    var key: PostingKey { PostingKey(startMicros: startMicros, callID: callID) }
}

/// The order every posting list is in: newest call first, then the larger id. "Below" a key is
/// later in that order.
struct PostingKey: Comparable, Hashable {
    var startMicros: UInt64
    var callID: UInt64

    static func < (a: PostingKey, b: PostingKey) -> Bool {
        (a.startMicros, a.callID) < (b.startMicros, b.callID)
    }

    /// The next key below this one, if any.
    var predecessor: PostingKey? {
        if callID > 0 { return PostingKey(startMicros: startMicros, callID: callID - 1) }
        return startMicros > 0 ? PostingKey(startMicros: startMicros - 1, callID: .max) : nil
    }

    static let max = PostingKey(startMicros: .max, callID: .max)
    static let min = PostingKey(startMicros: 0, callID: 0)
}

/// The postings of one (owner, term, quarter-hour), as stored: entries newest first, each
/// `varint(start − quarter start) varint(call id) varint(n) n × varint(position delta)`.
///
/// Why blocks of a quarter-hour rather than a key per (term, call): a key per posting made the
/// index an order of magnitude larger than the text (a 40-byte key and LMDB's node for every
/// word of every call), and a common term's list cost one B-tree entry per call to read. A
/// quarter-hour keeps a block small (about a hundred calls at a million calls a quarter year),
/// so adding a call rewrites a few hundred bytes per term, and the newest-first order of Call
/// History is the key order: a search reads the newest blocks and stops when a page is full.
enum PostingBlock {
    static func decode(_ bytes: [UInt8], quarter: UInt32) throws -> [Posting] {
        var reader = VarintReader(bytes)
        var postings: [Posting] = []
        let base = Quarter.startMicros(quarter)
        while !reader.atEnd {
            let offset = try reader.next()
            let id = try reader.next()
            let count = try reader.next()
            guard count <= UInt64(bytes.count) else { throw CodecError.truncated(needed: Int(clamping: count), available: bytes.count) }
            var positions: [UInt32] = []
            positions.reserveCapacity(Int(count))
            var position: UInt64 = 0
            for _ in 0..<count {
                position += try reader.next()
                positions.append(UInt32(clamping: position))
            }
            let (start, overflow) = base.addingReportingOverflow(offset)
            guard !overflow else { throw CodecError.truncated(needed: 0, available: 0) }
            postings.append(Posting(startMicros: start, callID: id, positions: positions))
        }
        return postings
    }

    static func encode(_ postings: [Posting], quarter: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(postings.count * 12)
        let base = Quarter.startMicros(quarter)
        for posting in postings { appendEntry(posting, base: base, to: &bytes) }
        return bytes
    }

    /// The block with `posting` in its place (replacing the same call's entry, if there is
    /// one), spliced as bytes: adding a call to a busy quarter decodes no positions.
    static func inserting(_ posting: Posting, into bytes: [UInt8], quarter: UInt32) throws -> [UInt8] {
        let bytes = try removing(callID: posting.callID, from: bytes, quarter: quarter) ?? bytes
        var entry: [UInt8] = []
        appendEntry(posting, base: Quarter.startMicros(quarter), to: &entry)
        var at = bytes.count
        try forEachEntry(bytes, quarter: quarter) { key, range in
            guard key < posting.key else { return true }
            at = range.lowerBound
            return false
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + entry.count)
        out.append(contentsOf: bytes[..<at])
        out.append(contentsOf: entry)
        out.append(contentsOf: bytes[at...])
        return out
    }

    /// The block without the entry of `callID`, or nil if it has none.
    static func removing(callID: UInt64, from bytes: [UInt8], quarter: UInt32) throws -> [UInt8]? {
        var found: Range<Int>?
        try forEachEntry(bytes, quarter: quarter) { key, range in
            guard key.callID == callID else { return true }
            found = range
            return false
        }
        guard let found else { return nil }
        return Array(bytes[..<found.lowerBound]) + bytes[found.upperBound...]
    }

    /// Each entry's key and byte range, without decoding its positions into an array.
    private static func forEachEntry(_ bytes: [UInt8], quarter: UInt32, _ body: (PostingKey, Range<Int>) -> Bool) throws {
        var reader = VarintReader(bytes)
        let base = Quarter.startMicros(quarter)
        while !reader.atEnd {
            let at = reader.offset
            let start = base &+ (try reader.next())
            let id = try reader.next()
            let count = try reader.next()
            guard count <= UInt64(bytes.count) else { throw CodecError.truncated(needed: Int(clamping: count), available: bytes.count) }
            for _ in 0..<count { _ = try reader.next() }
            guard body(PostingKey(startMicros: start, callID: id), at..<reader.offset) else { return }
        }
    }

    private static func appendEntry(_ posting: Posting, base: UInt64, to bytes: inout [UInt8]) {
        appendVarint(posting.startMicros - base, to: &bytes)
        appendVarint(posting.callID, to: &bytes)
        appendVarint(UInt64(posting.positions.count), to: &bytes)
        var previous: UInt32 = 0
        for position in posting.positions {
            appendVarint(UInt64(position - previous), to: &bytes)
            previous = position
        }
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}

/// LEB128 varints, checked: a block that ends inside a number, or a number longer than 64
/// bits, is a decoding error, not a trap.
struct VarintReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset >= bytes.count }

    mutating func next() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw CodecError.trailingBytes(bytes.count - offset) }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw CodecError.truncated(needed: 1, available: 0)
    }
}

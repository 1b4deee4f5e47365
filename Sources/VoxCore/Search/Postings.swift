import KVStore

/// The order every posting list is in: newest call first (by the second it started), then the
/// larger id. "Below" a key is later in that order. Whole seconds, not microseconds: a block
/// stores each start as a difference from the one before, and seconds make those differences
/// one or two bytes; no filter of Call History is finer than a day.
struct PostingKey: Comparable, Hashable {
    var second: UInt64
    var callID: UInt64

    init(second: UInt64, callID: UInt64) {
        self.second = second
        self.callID = callID
    }

    init(micros: UInt64, callID: UInt64) { self.init(second: micros / 1_000_000, callID: callID) }

    init(_ call: Call) { self.init(micros: call.startMicros, callID: call.id) }

    static func < (a: PostingKey, b: PostingKey) -> Bool { (a.second, a.callID) < (b.second, b.callID) }

    /// The next key below this one, if any.
    var predecessor: PostingKey? {
        if callID > 0 { return PostingKey(second: second, callID: callID - 1) }
        return second > 0 ? PostingKey(second: second - 1, callID: .max) : nil
    }

    static let max = PostingKey(second: .max, callID: .max)
    static let min = PostingKey(second: 0, callID: 0)
}

/// One call's entry in a block: its key and where its word positions are in the block's
/// bytes (`varint(n) n × varint(delta)`). Plain integers, no reference to the bytes: decoding a
/// block of 64 entries allocates one array, and an insert copies position bytes straight from
/// the old block into the new one.
struct PostingEntry {
    var key: PostingKey
    var positions: Range<Int>
    /// Which buffer `positions` points into when encoding: 0 the block, 1 a new entry's.
    var source: UInt8 = 0

    var callID: UInt64 { key.callID }
}

/// A run of one term's postings for one owner, as stored: entries newest first. The first
/// entry's key is written as its difference from the block's key (the lowest key the block
/// may hold), each later one as its difference from the entry before it:
/// `varint(Δsecond) varint(zigzag(Δid)) varint(n) n × varint(position delta)`.
///
/// Why blocks, and why of a size rather than of a time span: a key per (term, call) made the
/// index an order of magnitude larger than the text (a key and an LMDB node for every word
/// of every call), and blocks of a fixed time span (a quarter-hour) degenerated to that for
/// every word but the commonest, at a few calls per quarter. A block holds up to
/// `maxEntries` postings whatever their times: a rare word's calls of a whole year share one,
/// a common word's newest calls fill a new one every few minutes. Newest-first key order is
/// Call History's order, so a search reads the newest blocks and stops when a page is full.
enum PostingBlock {
    static let maxEntries = 64
    static let maxBytes = 1_200

    /// The entries, newest first.
    static func decode(_ bytes: [UInt8], lower: PostingKey) throws -> [PostingEntry] {
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = VarintReader(buffer)
            var entries: [PostingEntry] = []
            entries.reserveCapacity(maxEntries + 1)
            var previous = lower
            while !reader.atEnd {
                let secondDelta = try reader.next()
                let idDelta = unzigzag(try reader.next())
                let key: PostingKey
                if entries.isEmpty {
                    key = PostingKey(second: previous.second &+ secondDelta, callID: UInt64(bitPattern: Int64(bitPattern: previous.callID) &+ idDelta))
                } else {
                    guard secondDelta <= previous.second else { throw CodecError.truncated(needed: 0, available: 0) }
                    key = PostingKey(second: previous.second - secondDelta, callID: UInt64(bitPattern: Int64(bitPattern: previous.callID) &- idDelta))
                }
                let start = reader.offset
                let count = try reader.next()
                guard count <= UInt64(buffer.count) else { throw CodecError.truncated(needed: Int(clamping: count), available: buffer.count) }
                for _ in 0..<count { _ = try reader.next() }
                entries.append(PostingEntry(key: key, positions: start..<reader.offset))
                previous = key
            }
            return entries
        }
    }

    /// The word positions at `range` of `bytes`.
    static func positions(_ bytes: [UInt8], _ range: Range<Int>) throws -> [UInt32] {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { throw CodecError.truncated(needed: range.upperBound, available: bytes.count) }
        return try bytes.withUnsafeBufferPointer { buffer in
            var reader = VarintReader(UnsafeBufferPointer(rebasing: buffer[range]))
            let count = try reader.next()
            guard count <= UInt64(range.count) else { throw CodecError.truncated(needed: Int(clamping: count), available: range.count) }
            var positions: [UInt32] = []
            positions.reserveCapacity(Int(count))
            var position: UInt64 = 0
            for _ in 0..<count {
                position &+= try reader.next()
                positions.append(UInt32(clamping: position))
            }
            return positions
        }
    }

    static func encodePositions(_ positions: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(positions.count * 2 + 1)
        appendVarint(UInt64(positions.count), to: &bytes)
        var previous: UInt32 = 0
        for position in positions {
            appendVarint(UInt64(position &- previous), to: &bytes)
            previous = position
        }
        return bytes
    }

    /// `entries` (newest first, none below `lower`) as a block; their positions are copied
    /// from `block` (source 0) or `extra` (source 1).
    static func encode(_ entries: ArraySlice<PostingEntry>, lower: PostingKey, block: [UInt8], extra: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 6 + extra.count + 8)
        block.withUnsafeBufferPointer { blockBytes in
            extra.withUnsafeBufferPointer { extraBytes in
                var previous = lower
                for (index, entry) in entries.enumerated() {
                    if index == 0 {
                        appendVarint(entry.key.second - lower.second, to: &out)
                        appendVarint(zigzag(Int64(bitPattern: entry.key.callID) &- Int64(bitPattern: lower.callID)), to: &out)
                    } else {
                        appendVarint(previous.second - entry.key.second, to: &out)
                        appendVarint(zigzag(Int64(bitPattern: previous.callID) &- Int64(bitPattern: entry.key.callID)), to: &out)
                    }
                    let source = entry.source == 0 ? blockBytes : extraBytes
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: source[entry.positions]))
                    previous = entry.key
                }
            }
        }
        return out
    }

    /// A block of one posting.
    static func single(_ key: PostingKey, positions: [UInt8]) -> [UInt8] {
        encode([PostingEntry(key: key, positions: 0..<positions.count, source: 1)], lower: key, block: [], extra: positions)
    }

    /// The entries with a new one for `key` (positions in the extra buffer) in its place,
    /// replacing the same call's entry if there is one.
    static func inserting(_ key: PostingKey, positions: Int, into entries: [PostingEntry]) -> [PostingEntry] {
        var entries = entries
        entries.removeAll { $0.callID == key.callID }
        let at = entries.firstIndex { $0.key < key } ?? entries.count
        entries.insert(PostingEntry(key: key, positions: 0..<positions, source: 1), at: at)
        return entries
    }

    static func isFull(_ entries: Int, bytes: Int) -> Bool { entries > maxEntries || bytes > maxBytes }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }
}

/// LEB128 varints, checked: a block that ends inside a number, or a number longer than 64
/// bits, is a decoding error, not a trap.
struct VarintReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

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

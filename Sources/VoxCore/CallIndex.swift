import Foundation
import KVStore

/// The one secondary-index table of calls. Every entry's key has the same shape,
///
///     scope | facet | start minute | callID        (four big-endian UInt64)
///
/// and its value is a `CallSummary`, which carries the exact start time:
/// - `scope` is the owner's user id (0 for a call nobody owns). An operator's view is one
///   contiguous range; an admin's view merges the ranges of every owner (`Database.callScopes`).
///   Writing every entry a second time under an "everything" scope made that view one range,
///   but doubled the index pages dirtied per call.
/// - `facet` says what the entry is about. The top byte is its kind: `date` (every call),
///   `status` (the status in the low byte), `number` (a 4- or 7-digit piece of a phone number:
///   its first 4, first 7 or last 4 digits).
/// - The start is bucketed to the minute (`CallIndex.bucket`), and the call id orders entries
///   inside a bucket. Ids grow as calls arrive, so a new call's entry goes at the end of its
///   minute's run. Calls end (and are written) in a different order from the one they started
///   in: keyed by exact start, a group commit of webhook events put each entry on a leaf page of
///   its own, and writing those scattered pages was most of a commit's cost. Keyed by minute,
///   the calls of one commit share the last leaf of a few minutes' runs. Readers pay by sorting
///   one minute's entries by exact start (`Database.walkCallIndex`), which is why the value
///   carries it.
public typealias CallIndexKey = Quad<UInt64Key, UInt64Key, UInt64Key, UInt64Key>

public enum CallIndex {
    /// One minute: short enough that a busy minute is still a small sort for a reader, long
    /// enough that the calls ending together (whose starts differ by their durations) share
    /// a handful of buckets.
    public static let bucketMicros: UInt64 = 60_000_000

    public static func bucket(_ startMicros: UInt64) -> UInt64 { startMicros / bucketMicros }

    /// The key of `call`'s entry for `facet`.
    static func key(_ call: Call, _ facet: UInt64) -> (UInt64, UInt64, UInt64, UInt64) {
        (call.ownerUserID, facet, bucket(call.startMicros), call.id)
    }
}

extension Database {
    /// Writes `call`'s index entries, one per facet, each with the same summary.
    func addIndexEntries(of call: Call, in txn: WriteTransaction) throws {
        let summary = CallSummaryCodec.encode(CallSummary(call))
        for facet in Facet.all(for: call) {
            try callIndex.put(txn, CallIndex.key(call, facet), encoded: summary)
        }
    }

    /// Removes what `addIndexEntries` wrote for this version of the call.
    func removeIndexEntries(of call: Call, in txn: WriteTransaction) throws {
        for facet in Facet.all(for: call) {
            try callIndex.delete(txn, CallIndex.key(call, facet))
        }
    }
}

public enum Facet {
    static let dateKind: UInt64 = 1
    static let statusKind: UInt64 = 2
    static let numberKind: UInt64 = 3

    public static let date: UInt64 = dateKind << 56

    public static func status(_ status: CallStatus) -> UInt64 { statusKind << 56 | UInt64(status.rawValue) }

    enum Piece: UInt64 {
        case first4 = 1, first7 = 2, last4 = 3
        var length: Int { self == .first7 ? 7 : 4 }
    }

    /// A number piece packed as one nibble a digit (digit + 1, so that 0 is "no digit") into
    /// the low 28 bits. Until schema 6 the digits were ASCII bytes from bit 48 down, so the first
    /// one shared its byte with the piece: `3109`, `2109`, `1109` and `0109` were one facet
    /// (found by the FTS5 comparison of the search bench, whose peer filters by number exactly).
    static func number(_ piece: Piece, _ digits: Substring) -> UInt64 {
        var value = numberKind << 56 | piece.rawValue << 48
        for (index, byte) in digits.utf8.prefix(piece.length).enumerated() {
            value |= (UInt64(byte &- 0x2F) & 0xF) << (4 * UInt64(6 - index))
        }
        return value
    }

    /// The number facets of one phone number (digits).
    static func numberFacets(_ digits: String) -> [UInt64] {
        guard digits.count >= 4 else { return [] }
        var facets = [number(.first4, digits.prefix(4)), number(.last4, digits.suffix(4))]
        if digits.count >= 7 { facets.append(number(.first7, digits.prefix(7))) }
        return facets
    }

    /// Every facet of a call, each once: the entries to write (per scope). A handful, so an
    /// array searched in place, not a set.
    static func all(for call: Call) -> [UInt64] {
        var facets: [UInt64] = []
        facets.reserveCapacity(8)
        facets.append(date)
        facets.append(status(call.status))
        for digits in [call.fromDigits, call.toDigits] {
            for facet in numberFacets(digits) where !facets.contains(facet) { facets.append(facet) }
        }
        return facets
    }
}

/// What an index entry knows of its call.
public struct CallSummary: Sendable, Equatable {
    /// Exact, where the key has only the minute.
    public var startMicros: UInt64
    public var status: CallStatus
    public var applicationID: UInt64
    public var fromDigits: String
    public var toDigits: String

    init(_ call: Call) {
        startMicros = call.startMicros
        status = call.status
        applicationID = call.applicationID
        fromDigits = call.fromDigits
        toDigits = call.toDigits
    }

    init(startMicros: UInt64, status: CallStatus, applicationID: UInt64, fromDigits: String, toDigits: String) {
        self.startMicros = startMicros
        self.status = status
        self.applicationID = applicationID
        self.fromDigits = fromDigits
        self.toDigits = toDigits
    }
}

/// `start u64 | status u8 | application u64 | len u8 | from digits | len u8 | to digits`:
/// compact, since every call has several entries.
public enum CallSummaryCodec: ValueCodec {
    public static func encode(_ value: CallSummary) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(19 + value.fromDigits.utf8.count + value.toDigits.utf8.count)
        bytes.appendBigEndian(value.startMicros)
        bytes.append(value.status.rawValue)
        bytes.appendBigEndian(value.applicationID)
        for digits in [value.fromDigits, value.toDigits] {
            let utf8 = digits.utf8.prefix(255)
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }

    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> CallSummary {
        var reader = ByteReader(raw)
        let start = try reader.readBigEndian(UInt64.self)
        let statusByte = try reader.readBigEndian(UInt8.self)
        guard let status = CallStatus(rawValue: statusByte) else { throw CodecError.truncated(needed: 1, available: 0) }
        let app = try reader.readBigEndian(UInt64.self)
        let fromLength = Int(try reader.readBigEndian(UInt8.self))
        let from = String(decoding: try reader.take(fromLength), as: UTF8.self)
        let toLength = Int(try reader.readBigEndian(UInt8.self))
        let to = String(decoding: try reader.take(toLength), as: UTF8.self)
        return CallSummary(startMicros: start, status: status, applicationID: app, fromDigits: from, toDigits: to)
    }
}

extension Database {
    /// The entries of one scope and facet whose (start, id) lies in `lower ..< upper`, in
    /// (start, id) order (newest first when `direction` is backward), each with its call id
    /// and summary; `visit` returns false to stop. It reads whole minutes and sorts each one,
    /// since the key orders a minute's entries by id (see `CallIndexKey`).
    public func walkCallIndex(
        _ txn: some ReadableTransaction, scope: UInt64, facet: UInt64,
        from lower: (start: UInt64, id: UInt64), below upper: (start: UInt64, id: UInt64),
        direction: ScanDirection, _ visit: (_ callID: UInt64, CallSummary) throws -> Bool
    ) throws {
        guard lower < upper else { return }
        let range = KeyRange<CallIndexKey>.halfOpen(
            from: (scope, facet, CallIndex.bucket(lower.start), 0), below: (scope, facet, CallIndex.bucket(upper.start) + 1, 0))
        var minute = IndexMinute(ascending: direction == .forward)
        var stopped = false
        try callIndex.scan(txn, range, direction: direction) { key, summary in
            if key.2 != minute.bucket {
                guard try minute.visitAll(visit) else {
                    stopped = true
                    return false
                }
                minute.bucket = key.2
            }
            let position = (summary.startMicros, key.3)
            if position >= lower && position < upper { minute.entries.append(.init(id: key.3, summary: summary)) }
            return true
        }
        if !stopped { _ = try minute.visitAll(visit) }
    }

    /// Every scope that has calls in the index, ascending: what an admin's view merges. One
    /// seek per owner, from each owner's first key to the next owner's.
    public func callScopes(_ txn: some ReadableTransaction) throws -> [UInt64] {
        var scopes: [UInt64] = []
        var from: UInt64? = 0
        while let lower = from, let key = try callIndex.keys(txn, .halfOpen(from: (lower, 0, 0, 0), below: nil), limit: 1).first {
            scopes.append(key.0)
            from = key.0 == .max ? nil : key.0 + 1
        }
        return scopes
    }
}

/// The entries of one index minute read so far, visited in (start, id) order once the whole
/// minute is in: the key orders them by id.
private struct IndexMinute {
    struct Entry {
        let id: UInt64
        let summary: CallSummary
    }

    let ascending: Bool
    var bucket: UInt64?
    var entries: [Entry] = []

    init(ascending: Bool) { self.ascending = ascending }

    /// Visits and drops the entries; false once `visit` has asked to stop.
    mutating func visitAll(_ visit: (UInt64, CallSummary) throws -> Bool) rethrows -> Bool {
        defer { entries.removeAll(keepingCapacity: true) }
        if entries.count > 1 {
            if ascending {
                entries.sort { ($0.summary.startMicros, $0.id) < ($1.summary.startMicros, $1.id) }
            } else {
                entries.sort { ($0.summary.startMicros, $0.id) > ($1.summary.startMicros, $1.id) }
            }
        }
        for entry in entries where try !visit(entry.id, entry.summary) { return false }
        return true
    }
}

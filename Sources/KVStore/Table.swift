import CLMDB
import Foundation

/// A range of keys to scan, as encoded bytes: `lower` inclusive, `upper` inclusive or not.
/// Built from typed keys, so a range over a compound key reads like the key:
/// `.closed((owner, from, .min), (owner, to, .max))` or `.prefix(UInt64Key.self, owner)`.
public struct KeyRange<K: KeyCodec> {
    @usableFromInline var lower: [UInt8]?
    @usableFromInline var upper: [UInt8]?
    @usableFromInline var upperInclusive: Bool

    @usableFromInline init(lower: [UInt8]?, upper: [UInt8]?, upperInclusive: Bool) {
        self.lower = lower
        self.upper = upper
        self.upperInclusive = upperInclusive
    }

    public static var all: KeyRange { KeyRange(lower: nil, upper: nil, upperInclusive: false) }

    public static func closed(_ lower: K.Value, _ upper: K.Value) -> KeyRange {
        KeyRange(lower: K.encode(lower), upper: K.encode(upper), upperInclusive: true)
    }

    /// `lower ..< upper`; either side may be open.
    public static func halfOpen(from lower: K.Value?, below upper: K.Value?) -> KeyRange {
        KeyRange(lower: lower.map(K.encode), upper: upper.map(K.encode), upperInclusive: false)
    }

    /// Every key that starts with the encoding of `value` under codec `P`: the leading
    /// fields of a compound key.
    public static func prefix<P: KeyCodec>(_ codec: P.Type, _ value: P.Value) -> KeyRange {
        rawPrefix(P.encode(value))
    }

    public static func rawPrefix(_ prefix: [UInt8]) -> KeyRange {
        KeyRange(lower: prefix, upper: successor(ofPrefix: prefix), upperInclusive: false)
    }

    /// Keys from `lower` (inclusive) to `upper` (exclusive), given as raw bytes.
    public static func raw(lower: [UInt8]?, upper: [UInt8]?, upperInclusive: Bool = false) -> KeyRange {
        KeyRange(lower: lower, upper: upper, upperInclusive: upperInclusive)
    }

    /// The smallest byte string greater than every string with this prefix, or nil when the
    /// prefix is all 0xFF (then the range is open above).
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}

public enum ScanDirection: Sendable {
    case forward, backward
}

/// A named LMDB database whose keys and values go through codecs. A `Table` is a handle: cheap
/// to copy, valid for the life of its environment, usable from any thread.
public struct Table<K: KeyCodec, V: ValueCodec>: @unchecked Sendable {
    public let name: String
    @usableFromInline let dbi: MDB_dbi

    init(name: String, dbi: MDB_dbi) {
        self.name = name
        self.dbi = dbi
    }

    @inlinable
    public func get(_ txn: some ReadableTransaction, _ key: K.Value) throws -> V.Value? {
        try getRaw(txn, K.encode(key)).map { try decodeValue($0) }
    }

    @inlinable
    public func contains(_ txn: some ReadableTransaction, _ key: K.Value) throws -> Bool {
        try getRaw(txn, K.encode(key)) != nil
    }

    /// Inserts or replaces.
    @inlinable
    public func put(_ txn: WriteTransaction, _ key: K.Value, _ value: V.Value) throws {
        try putRaw(txn, K.encode(key), V.encode(value), flags: 0)
    }

    /// Inserts or replaces with a value already encoded by `V`: for writing one value under
    /// many keys (index entries) without encoding it each time.
    @inlinable
    public func put(_ txn: WriteTransaction, _ key: K.Value, encoded value: [UInt8]) throws {
        try putRaw(txn, K.encode(key), value, flags: 0)
    }

    /// Inserts only if the key is absent; returns false (and changes nothing) if it exists.
    @inlinable @discardableResult
    public func insert(_ txn: WriteTransaction, _ key: K.Value, _ value: V.Value) throws -> Bool {
        do {
            try putRaw(txn, K.encode(key), V.encode(value), flags: UInt32(MDB_NOOVERWRITE))
            return true
        } catch let error as LMDBError where error == .keyExists {
            return false
        }
    }

    /// Deletes the key; returns whether it was there.
    @inlinable @discardableResult
    public func delete(_ txn: WriteTransaction, _ key: K.Value) throws -> Bool {
        try K.encode(key).withUnsafeBytes { raw in
            var mdbKey = MDB_val(borrowing: raw)
            let rc = mdb_del(txn.handle, dbi, &mdbKey, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc)
            return true
        }
    }

    /// Visits entries in `range` in key order (or reverse), stopping after `limit` entries or
    /// when `body` returns false. Values are decoded only for visited entries.
    @inlinable
    public func scan(
        _ txn: some ReadableTransaction, _ range: KeyRange<K> = .all,
        direction: ScanDirection = .forward, limit: Int? = nil,
        _ body: (K.Value, V.Value) throws -> Bool
    ) throws {
        try walk(txn, range, direction: direction, limit: limit) { key, value in
            try body(try decodeKey(key), try decodeValue(value))
        }
    }

    /// The entries in `range`, as an array: for small pages.
    @inlinable
    public func entries(
        _ txn: some ReadableTransaction, _ range: KeyRange<K> = .all,
        direction: ScanDirection = .forward, limit: Int? = nil
    ) throws -> [(key: K.Value, value: V.Value)] {
        var result: [(key: K.Value, value: V.Value)] = []
        try scan(txn, range, direction: direction, limit: limit) { key, value in
            result.append((key, value))
            return true
        }
        return result
    }

    /// Only the keys in `range`: for index tables, where the key is the whole entry.
    @inlinable
    public func keys(
        _ txn: some ReadableTransaction, _ range: KeyRange<K> = .all,
        direction: ScanDirection = .forward, limit: Int? = nil
    ) throws -> [K.Value] {
        var result: [K.Value] = []
        try walk(txn, range, direction: direction, limit: limit) { key, _ in
            result.append(try decodeKey(key))
            return true
        }
        return result
    }

    /// How many entries `range` holds, without decoding any.
    @inlinable
    public func count(_ txn: some ReadableTransaction, _ range: KeyRange<K> = .all) throws -> Int {
        if range.lower == nil && range.upper == nil {
            var stat = MDB_stat()
            try check(mdb_stat(txn.handle, dbi, &stat))
            return stat.ms_entries
        }
        var count = 0
        try walk(txn, range, direction: .forward, limit: nil) { _, _ in
            count += 1
            return true
        }
        return count
    }

    /// The bytes of the pages holding the table (branch, leaf and overflow): its size on disk,
    /// without the free pages LMDB keeps for reuse.
    public func storedBytes(_ txn: some ReadableTransaction) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn.handle, dbi, &stat))
        return (stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages) * Int(stat.ms_psize)
    }

    /// Removes every entry (the table stays).
    public func removeAll(_ txn: WriteTransaction) throws {
        try check(mdb_drop(txn.handle, dbi, 0))
    }

    // MARK: - Raw access, shared by the typed methods

    @inlinable
    func decodeKey(_ raw: UnsafeRawBufferPointer) throws -> K.Value {
        do { return try K.decode(raw) } catch {
            throw KVStoreError.corruptRecord(table: name, reason: "key: \(error)")
        }
    }

    @inlinable
    func decodeValue(_ raw: UnsafeRawBufferPointer) throws -> V.Value {
        do { return try V.decode(raw) } catch {
            throw KVStoreError.corruptRecord(table: name, reason: "value: \(error)")
        }
    }

    @usableFromInline
    func getRaw(_ txn: some ReadableTransaction, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { raw in
            var mdbKey = MDB_val(borrowing: raw)
            var mdbValue = MDB_val()
            let rc = mdb_get(txn.handle, dbi, &mdbKey, &mdbValue)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc)
            // Points into the memory map; valid until the transaction ends.
            return UnsafeRawBufferPointer(start: mdbValue.mv_data, count: mdbValue.mv_size)
        }
    }

    @usableFromInline
    func putRaw(_ txn: WriteTransaction, _ key: [UInt8], _ value: [UInt8], flags: UInt32) throws {
        guard !key.isEmpty, key.count <= 511 else { throw KVStoreError.keyTooLong(table: name, length: key.count) }
        try key.withUnsafeBytes { rawKey in
            try value.withUnsafeBytes { rawValue in
                var mdbKey = MDB_val(borrowing: rawKey)
                var mdbValue = MDB_val(borrowing: rawValue)
                try check(mdb_put(txn.handle, dbi, &mdbKey, &mdbValue, flags))
            }
        }
    }

    /// The one cursor loop. Positions at the range's start for the direction, then steps until
    /// the other bound, the limit, or `body` says stop.
    @inlinable
    func walk(
        _ txn: some ReadableTransaction, _ range: KeyRange<K>, direction: ScanDirection, limit: Int?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        if let limit, limit <= 0 { return }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn.handle, dbi, &cursor))
        defer { mdb_cursor_close(cursor) }

        var key = MDB_val()
        var value = MDB_val()
        var rc: Int32
        switch direction {
        case .forward:
            if let lower = range.lower {
                rc = position(cursor, at: lower, &key, &value)
            } else {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            }
        case .backward:
            if let upper = range.upper {
                rc = position(cursor, at: upper, &key, &value)
                if rc == MDB_NOTFOUND {
                    rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
                } else if rc == 0 && !(range.upperInclusive && compare(key, upper) == 0) {
                    rc = mdb_cursor_get(cursor, &key, &value, MDB_PREV)
                }
            } else {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
            }
        }

        let step = direction == .forward ? MDB_NEXT : MDB_PREV
        var visited = 0
        while rc == 0 {
            switch direction {
            case .forward:
                if let upper = range.upper {
                    let order = compare(key, upper)
                    if order > 0 || (order == 0 && !range.upperInclusive) { return }
                }
            case .backward:
                if let lower = range.lower, compare(key, lower) < 0 { return }
            }
            let keyBytes = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            let valueBytes = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
            guard try body(keyBytes, valueBytes) else { return }
            visited += 1
            if let limit, visited >= limit { return }
            rc = mdb_cursor_get(cursor, &key, &value, step)
        }
        if rc != MDB_NOTFOUND { try check(rc) }
    }

    @usableFromInline
    func position(
        _ cursor: OpaquePointer?, at bytes: [UInt8], _ key: inout MDB_val, _ value: inout MDB_val
    ) -> Int32 {
        bytes.withUnsafeBytes { raw in
            key = MDB_val(borrowing: raw)
            return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
    }

    @usableFromInline
    func compare(_ key: MDB_val, _ bound: [UInt8]) -> Int {
        let keyBytes = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
        return bound.withUnsafeBytes { boundBytes in
            let common = min(keyBytes.count, boundBytes.count)
            if common > 0 {
                let order = memcmp(keyBytes.baseAddress!, boundBytes.baseAddress!, common)
                if order != 0 { return Int(order) }
            }
            return keyBytes.count - boundBytes.count
        }
    }
}

extension MDB_val {
    /// Bytes handed to LMDB for the length of one call. LMDB's signatures take mutable
    /// pointers, but it only reads keys and values on get, put and delete. Borrowing them,
    /// rather than asking a shared array for mutable bytes, spares a copy of each key and value.
    @usableFromInline
    init(borrowing bytes: UnsafeRawBufferPointer) {
        self.init(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
    }
}

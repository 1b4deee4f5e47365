import Foundation

/// Decoded values of a table, remembered with the bytes they were decoded from.
///
/// A lookup still reads the stored bytes (a pointer into the map, no copy) and compares them
/// with the remembered ones; only when they differ is the value decoded again. So the cache
/// can never serve a stale value, needs no invalidation by writers, and works inside any
/// transaction, including the writer's. Worth it for records that are read on every request
/// but change rarely and decode slowly (JSON), such as applications on the webhook path.
public final class DecodingCache<K: KeyCodec, V: ValueCodec>: @unchecked Sendable {
    public let table: Table<K, V>
    private let lock = NSLock()
    private var entries: [[UInt8]: (bytes: [UInt8], value: V.Value)] = [:]
    private let capacity: Int

    public init(_ table: Table<K, V>, capacity: Int = 4096) {
        self.table = table
        self.capacity = capacity
    }

    public func get(_ txn: some ReadableTransaction, _ key: K.Value) throws -> V.Value? {
        let encodedKey = K.encode(key)
        guard let raw = try table.getRaw(txn, encodedKey) else { return nil }
        return try value(encodedKey, raw)
    }

    /// Every entry in key order, each value decoded only if its bytes changed: for the small
    /// tables a page lists whole (applications and accounts on every Call History page).
    public func scan(_ txn: some ReadableTransaction, _ body: (K.Value, V.Value) throws -> Bool) throws {
        try table.walk(txn, .all, direction: .forward, limit: nil) { key, raw in
            try body(try table.decodeKey(key), try value(Array(key), raw))
        }
    }

    private func value(_ encodedKey: [UInt8], _ raw: UnsafeRawBufferPointer) throws -> V.Value {
        lock.lock()
        let hit = entries[encodedKey]
        lock.unlock()
        if let hit, hit.bytes.count == raw.count,
           raw.isEmpty || hit.bytes.withUnsafeBytes({ memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }) {
            return hit.value
        }
        let value = try table.decodeValue(raw)
        lock.lock()
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[encodedKey] = (Array(raw), value)
        lock.unlock()
        return value
    }
}

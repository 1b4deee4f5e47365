import Foundation
import Testing
@testable import KVStore

@Suite struct EnvironmentTests {
    @Test func mapGrowsUnderTinyInitialMap() throws {
        let store = try TemporaryStore(mapSize: 64 * 1024)
        let table = try store.environment.openTable("blobs", key: UInt64Key.self, value: BytesValue.self)
        let before = store.environment.mapSize
        let blob = [UInt8](repeating: 0xAB, count: 4000)
        // Many transactions, and one big one, both past the initial 64 KiB.
        for i in 0..<100 {
            try store.environment.write { txn in try table.put(txn, UInt64(i), blob) }
        }
        try store.environment.write { txn throws in
            for i in 100..<1_100 { try table.put(txn, UInt64(i), blob) }
        }
        #expect(store.environment.mapSize > before)
        try store.environment.read { txn throws in
            #expect(try table.count(txn) == 1_100)
            #expect(try table.get(txn, 1_099) == blob)
        }
    }

    /// A full disk, in small: the write that needs the map past its ceiling fails with an
    /// error that says so; the environment, earlier data and later small writes are fine.
    @Test func theMapStopsAtItsCeilingWithAClearError() throws {
        let store = try TemporaryStore(mapSize: 256 * 1024, maxMapSize: 1 << 20)
        let table = try store.environment.openTable("blobs", key: UInt64Key.self, value: BytesValue.self)
        try store.environment.write { txn in try table.put(txn, 0, [1, 2, 3]) }
        let blob = [UInt8](repeating: 0xCD, count: 4000)
        #expect(throws: KVStoreError.mapCeiling(bytes: 1 << 20)) {
            try store.environment.write { txn throws in
                for i in 1..<1_000 { try table.put(txn, UInt64(i), blob) }  // about 4 MB
            }
        }
        #expect(store.environment.mapSize == 1 << 20)
        #expect(KVStoreError.mapCeiling(bytes: 1 << 20).description.contains("1 MiB"))
        try store.environment.write { txn in try table.put(txn, 5_000, [9]) }
        try store.environment.read { txn throws in
            #expect(try table.get(txn, 0) == [1, 2, 3])
            #expect(try table.get(txn, 5_000) == [9])
            #expect(try table.get(txn, 1) == nil)
        }
    }

    @Test func schemaVersionIsStoredAndNewerRefused() throws {
        let store = try TemporaryStore()
        _ = try Schema(environment: store.environment, version: 3)
        #expect(try Schema.storedVersion(in: store.environment) == 3)
        #expect(throws: KVStoreError.schemaTooNew(stored: 3, supported: 2)) {
            _ = try Schema(environment: store.environment, version: 2)
        }
        let message = KVStoreError.schemaTooNew(stored: 3, supported: 2).description
        #expect(message.contains("schema version 3"))
    }

    @Test func olderSchemaMigratesOnce() throws {
        let store = try TemporaryStore()
        _ = try Schema(environment: store.environment, version: 1)
        var migratedFrom: [UInt32] = []
        _ = try Schema(environment: store.environment, version: 2) { from, _ in migratedFrom.append(from) }
        _ = try Schema(environment: store.environment, version: 2) { from, _ in migratedFrom.append(from) }
        #expect(migratedFrom == [1])
    }

    @Test func errorsAreNamed() throws {
        #expect(LMDBError.mapFull.description.hasPrefix("MDB_MAP_FULL"))
        #expect(LMDBError.keyExists.name == "MDB_KEYEXIST")
        let store = try TemporaryStore()
        let table = try store.environment.openTable("t", key: BytesKey.self, value: EmptyValue.self)
        #expect(throws: KVStoreError.keyTooLong(table: "t", length: 600)) {
            try store.environment.write { txn in try table.put(txn, [UInt8](repeating: 1, count: 600), ()) }
        }
    }

    @Test func reopenSeesCommittedData() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kv-reopen-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let environment = try Environment(path: path)
            let table = try environment.openTable("t", key: StringKey.self, value: StringValue.self)
            try environment.write { txn in try table.put(txn, "k", "v") }
        }
        let environment = try Environment(path: path)
        let table = try environment.openTable("t", key: StringKey.self, value: StringValue.self)
        #expect(try environment.read { txn in try table.get(txn, "k") } == "v")
    }
}

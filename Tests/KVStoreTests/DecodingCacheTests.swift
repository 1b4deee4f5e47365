import Foundation
import Testing
@testable import KVStore

@Suite struct DecodingCacheTests {
    struct Record: Codable, Equatable {
        var name: String
    }

    @Test func servesTheCurrentValueAcrossWrites() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try Environment(path: path)
        let table: Table<UInt64Key, JSONValue<Record>> = try environment.openTable("records")
        let cache = DecodingCache(table, capacity: 2)
        try environment.write { txn in try table.put(txn, 1, Record(name: "one")) }
        #expect(try environment.read { txn throws in try cache.get(txn, 1) } == Record(name: "one"))
        #expect(try environment.read { txn throws in try cache.get(txn, 1) } == Record(name: "one"))
        // A write is seen at once, inside the writing transaction too: the bytes differ.
        try environment.write { txn in
            try table.put(txn, 1, Record(name: "uno"))
            #expect(try cache.get(txn, 1) == Record(name: "uno"))
        }
        #expect(try environment.read { txn throws in try cache.get(txn, 1) } == Record(name: "uno"))
        try environment.write { txn in _ = try table.delete(txn, 1) }
        #expect(try environment.read { txn throws in try cache.get(txn, 1) } == nil)
        // Past its capacity it starts over, and still answers right.
        try environment.write { txn in for id in 2...5 as ClosedRange<UInt64> { try table.put(txn, id, Record(name: "r\(id)")) } }
        for id in 2...5 as ClosedRange<UInt64> {
            #expect(try environment.read { txn throws in try cache.get(txn, id) } == Record(name: "r\(id)"))
        }
    }

    @Test func scansEveryEntryAsStoredNow() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try Environment(path: path)
        let table: Table<UInt64Key, JSONValue<Record>> = try environment.openTable("records")
        let cache = DecodingCache(table, capacity: 3)
        func all() throws -> [String] {
            try environment.read { txn throws in
                var names: [String] = []
                try cache.scan(txn) { id, record in
                    names.append("\(id)=\(record.name)")
                    return true
                }
                return names
            }
        }
        try environment.write { txn in for id in 1...4 as ClosedRange<UInt64> { try table.put(txn, id, Record(name: "r\(id)")) } }
        #expect(try all() == ["1=r1", "2=r2", "3=r3", "4=r4"])
        try environment.write { txn in
            try table.put(txn, 2, Record(name: "two"))
            _ = try table.delete(txn, 3)
        }
        #expect(try all() == ["1=r1", "2=two", "4=r4"])
        #expect(try all() == ["1=r1", "2=two", "4=r4"])
    }
}

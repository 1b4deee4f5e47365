import Foundation
import Testing
@testable import KVStore

/// owner | time | id, the shape of the call indexes.
typealias IndexKey = Triple<UInt64Key, UInt64Key, UInt32Key>

@Suite struct ScanTests {
    func seeded() throws -> (TemporaryStore, Table<IndexKey, EmptyValue>) {
        let store = try TemporaryStore()
        let index = try store.environment.openTable("index", key: IndexKey.self, value: EmptyValue.self)
        try store.environment.write { txn throws in
            for owner: UInt64 in [1, 2, 3] {
                for time: UInt64 in [10, 20, 30, 40, 50, 256, 65_536] {
                    for id: UInt32 in [1, 2] { try index.put(txn, (owner, time, id), ()) }
                }
            }
        }
        return (store, index)
    }

    @Test func bigEndianKeysSortNumerically() throws {
        let (store, index) = try seeded()
        let keys = try store.environment.read { txn in try index.keys(txn, .prefix(UInt64Key.self, 2)) }
        #expect(keys.map(\.1) == [10, 10, 20, 20, 30, 30, 40, 40, 50, 50, 256, 256, 65_536, 65_536])
        #expect(keys.allSatisfy { $0.0 == 2 })
    }

    @Test func closedRangeForwardAndBackward() throws {
        let (store, index) = try seeded()
        let range = KeyRange<IndexKey>.closed((2, 20, .min), (2, 50, .max))
        try store.environment.read { txn throws in
            let forward = try index.keys(txn, range).map { "\($0.1)/\($0.2)" }
            #expect(forward == ["20/1", "20/2", "30/1", "30/2", "40/1", "40/2", "50/1", "50/2"])
            let backward = try index.keys(txn, range, direction: .backward).map { "\($0.1)/\($0.2)" }
            #expect(backward == forward.reversed())
        }
    }

    @Test func halfOpenRangeExcludesUpperBoundInBothDirections() throws {
        let (store, index) = try seeded()
        let range = KeyRange<IndexKey>.halfOpen(from: (1, 30, 0), below: (1, 50, 1))
        try store.environment.read { txn throws in
            #expect(try index.keys(txn, range).map(\.1) == [30, 30, 40, 40])
            #expect(try index.keys(txn, range, direction: .backward).map(\.1) == [40, 40, 30, 30])
        }
    }

    @Test func backwardPrefixScanStartsAtNewestOfTenant() throws {
        let (store, index) = try seeded()
        try store.environment.read { txn throws in
            // The last tenant: the upper bound is past the end of the table.
            let last = try index.keys(txn, .prefix(UInt64Key.self, 3), direction: .backward, limit: 3)
            #expect(last.map { "\($0.0)/\($0.1)/\($0.2)" } == ["3/65536/2", "3/65536/1", "3/256/2"])
            // A middle tenant: must not leak into tenant 3.
            let middle = try index.keys(txn, .prefix(UInt64Key.self, 2), direction: .backward, limit: 1)
            #expect(middle.first.map { "\($0.0)/\($0.1)" } == "2/65536")
            #expect(try index.keys(txn, .prefix(UInt64Key.self, 9), direction: .backward).isEmpty)
        }
    }

    @Test func limitAndEarlyStop() throws {
        let (store, index) = try seeded()
        try store.environment.read { txn throws in
            #expect(try index.keys(txn, .all, limit: 5).count == 5)
            var seen = 0
            try index.scan(txn) { _, _ in
                seen += 1
                return seen < 4
            }
            #expect(seen == 4)
        }
    }

    @Test func countsRangesWithoutDecoding() throws {
        let (store, index) = try seeded()
        try store.environment.read { txn throws in
            #expect(try index.count(txn) == 42)
            #expect(try index.count(txn, .prefix(UInt64Key.self, 1)) == 14)
            #expect(try index.count(txn, .closed((1, 256, .min), (2, 10, .max))) == 6)
        }
    }

    @Test func signedKeysSortAcrossZero() throws {
        let store = try TemporaryStore()
        let table = try store.environment.openTable("signed", key: Int64Key.self, value: EmptyValue.self)
        try store.environment.write { txn throws in
            for value: Int64 in [5, -1, 0, .min, .max, -300] { try table.put(txn, value, ()) }
        }
        let keys = try store.environment.read { txn in try table.keys(txn) }
        #expect(keys == [.min, -300, -1, 0, 5, .max])
    }
}

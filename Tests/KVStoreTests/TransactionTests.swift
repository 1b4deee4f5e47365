import Foundation
import Testing
@testable import KVStore

@Suite struct TransactionTests {
    @Test func commitThenRead() throws {
        let store = try TemporaryStore()
        let notes = try store.environment.openTable("notes", key: UInt64Key.self, value: JSONValue<Note>.self)
        try store.environment.write { txn throws in
            try notes.put(txn, 1, Note(title: "a", size: 1))
            try notes.put(txn, 2, Note(title: "b", size: 2))
        }
        let read = try store.environment.read { txn in try notes.get(txn, 2) }
        #expect(read == Note(title: "b", size: 2))
        #expect(try store.environment.read { txn in try notes.count(txn) } == 2)
    }

    @Test func thrownErrorRollsBackEverything() throws {
        let store = try TemporaryStore()
        let notes = try store.environment.openTable("notes", key: UInt64Key.self, value: JSONValue<Note>.self)
        try store.environment.write { txn in try notes.put(txn, 1, Note(title: "kept", size: 1)) }
        #expect(throws: Boom.self) {
            try store.environment.write { txn throws in
                try notes.put(txn, 1, Note(title: "overwritten", size: 9))
                try notes.put(txn, 2, Note(title: "new", size: 2))
                throw Boom()
            }
        }
        try store.environment.read { txn throws in
            #expect(try notes.get(txn, 1) == Note(title: "kept", size: 1))
            #expect(try notes.get(txn, 2) == nil)
            #expect(try notes.count(txn) == 1)
        }
    }

    @Test func oneFailingWriterDoesNotSpoilItsBatch() throws {
        // Many concurrent writers land in shared group commits; the ones that throw must leave
        // no trace while their neighbours in the same batch commit.
        let store = try TemporaryStore()
        let table = try store.environment.openTable("t", key: UInt64Key.self, value: StringValue.self)
        let environment = store.environment
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            _ = try? environment.write { txn throws in
                try table.put(txn, UInt64(i), "v\(i)")
                if i % 3 == 0 { throw Boom() }
            }
        }
        try environment.read { txn throws in
            let keys = try table.keys(txn)
            #expect(keys == (0..<200).map(UInt64.init).filter { $0 % 3 != 0 })
        }
    }

    /// Concurrent writers add to one counter through a commit accumulator, some of them
    /// failing: the counter ends up the sum of exactly the writes that committed, whether
    /// they shared a flat group commit or were rolled back alone.
    @Test func commitAccumulatorsSumWhatCommitted() throws {
        let store = try TemporaryStore()
        let table = try store.environment.openTable("counter", key: UInt64Key.self, value: KeyAsValue<UInt64Key>.self)
        let environment = store.environment
        final class Sum: CommitAccumulator {
            let table: Table<UInt64Key, KeyAsValue<UInt64Key>>
            var added: UInt64 = 0
            init(table: Table<UInt64Key, KeyAsValue<UInt64Key>>) { self.table = table }
            func flush(_ txn: WriteTransaction) throws {
                try table.put(txn, 1, (try table.get(txn, 1) ?? 0) + added)
            }
        }
        DispatchQueue.concurrentPerform(iterations: 300) { i in
            _ = try? environment.write { txn throws in
                txn.accumulator { Sum(table: table) }.added += UInt64(i)
                try table.put(txn, UInt64(100 + i), UInt64(i))
                if i % 4 == 0 { throw Boom() }
            }
        }
        let expected = (0..<300).filter { $0 % 4 != 0 }.reduce(UInt64(0)) { $0 + UInt64($1) }
        try environment.read { txn throws in
            #expect(try table.get(txn, 1) == expected)
            #expect(try table.count(txn) == 1 + 225)
        }
    }

    @Test func insertRefusesExistingKeyAndDeleteReportsPresence() throws {
        let store = try TemporaryStore()
        let table = try store.environment.openTable("t", key: StringKey.self, value: StringValue.self)
        try store.environment.write { txn throws in
            #expect(try table.insert(txn, "k", "first"))
            #expect(try table.insert(txn, "k", "second") == false)
            #expect(try table.get(txn, "k") == "first")
            #expect(try table.delete(txn, "k"))
            #expect(try table.delete(txn, "k") == false)
        }
    }

    @Test func concurrentReadersSeeConsistentSnapshotsWhileWriterCommits() throws {
        // The writer moves value between two keys; the sum is invariant in every committed
        // state, so any reader that saw a half-applied transaction would see another sum.
        let store = try TemporaryStore()
        let accounts = try store.environment.openTable("accounts", key: UInt64Key.self, value: KeyAsValue<UInt64Key>.self)
        let environment = store.environment
        try environment.write { txn throws in
            try accounts.put(txn, 1, 1_000)
            try accounts.put(txn, 2, 0)
        }
        let stop = ManagedAtomicFlag()
        let finished = DispatchSemaphore(value: 0)
        let violations = ManagedCounter()
        let reads = ManagedCounter()
        // Dedicated threads: a busy shared pool might otherwise run the readers only after
        // the writer is done, and the test would prove nothing.
        for _ in 0..<4 {
            Thread {
                defer { finished.signal() }
                while !stop.isSet {
                    let sum = try? environment.read { txn throws in
                        (try accounts.get(txn, 1) ?? 0) + (try accounts.get(txn, 2) ?? 0)
                    }
                    if sum != 1_000 { violations.increment() }
                    reads.increment()
                }
            }.start()
        }
        var writes = 0
        while writes < 300 || reads.value < 1_000 {
            writes += 1
            try environment.write { txn throws in
                let a = try accounts.get(txn, 1)!
                let b = try accounts.get(txn, 2)!
                let move: UInt64 = a > 0 ? 1 : 0
                try accounts.put(txn, 1, a - move)
                try accounts.put(txn, 2, b + move)
            }
        }
        stop.set()
        for _ in 0..<4 { finished.wait() }
        #expect(violations.value == 0)
        #expect(reads.value >= 1_000)
        #expect(try environment.read { txn in try accounts.get(txn, 2) } == UInt64(min(writes, 1_000)))
    }

    @Test func onCommitRunsOnlyAfterCommit() throws {
        let store = try TemporaryStore()
        let table = try store.environment.openTable("t", key: UInt64Key.self, value: StringValue.self)
        let fired = ManagedCounter()
        try store.environment.write { txn throws in
            try table.put(txn, 1, "x")
            txn.onCommit { fired.increment() }
        }
        _ = try? store.environment.write { txn throws in
            txn.onCommit { fired.increment() }
            throw Boom()
        }
        #expect(fired.value == 1)
    }
}

final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}

import CLMDB
import Foundation

/// One queued write closure and whoever is told of its outcome: a caller waiting, or a
/// completion the writer calls.
final class WriteRequest: @unchecked Sendable {
    /// Cleared by the caller once it wakes, so the non-escaping closure does not outlive
    /// `Environment.write`.
    var body: ((WriteTransaction) throws -> Void)?
    var error: Error?
    var afterCommit: [@Sendable () -> Void] = []
    private let done = DispatchSemaphore(value: 0)
    private let completion: (@Sendable (Error?) -> Void)?

    init(_ body: @escaping (WriteTransaction) throws -> Void, completion: (@Sendable (Error?) -> Void)? = nil) {
        self.body = body
        self.completion = completion
    }

    func wait() { done.wait() }

    func finish() {
        if let completion {
            body = nil
            completion(error)
        } else {
            done.signal()
        }
    }
}

/// The thread that runs every write transaction of an environment, group-committing what
/// queued up while the previous commit was being synced.
final class Writer: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [WriteRequest] = []
    private var stopping = false
    private let maxBatch: Int
    private var thread: Thread?

    private let observer: CommitObserver?

    init(maxBatch: Int, observer: CommitObserver? = nil) {
        self.maxBatch = max(1, maxBatch)
        self.observer = observer
    }

    func start(environment: Environment) {
        // The thread holds the environment weakly, so dropping the last reference closes it.
        let thread = Thread { [weak environment, self] in
            while let batch = self.nextBatch() {
                guard let environment else {
                    batch.forEach { $0.error = LMDBError(MDB_PANIC); $0.finish() }
                    continue
                }
                self.run(batch, in: environment)
            }
        }
        thread.name = "lmdb-writer"
        self.thread = thread
        thread.start()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    func submit(_ request: WriteRequest) {
        condition.lock()
        queue.append(request)
        condition.signal()
        condition.unlock()
    }

    private func nextBatch() -> [WriteRequest]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopping { return nil }
            condition.wait()
        }
        let count = min(queue.count, maxBatch)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        return batch
    }

    private func run(_ batch: [WriteRequest], in environment: Environment) {
        let started = observer == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer { observer?(batch.count, DispatchTime.now().uptimeNanoseconds - started) }
        var growths = 0
        while true {
            do {
                try runOnce(batch, in: environment)
                break
            } catch let error as LMDBError where error == .mapFull && growths < 16 {
                growths += 1
                do {
                    try environment.grow()
                } catch {
                    batch.forEach { $0.error = error }
                    break
                }
            } catch {
                // The parent transaction could not begin or commit: nothing of the batch landed.
                batch.forEach { $0.error = error }
                break
            }
        }
        for request in batch {
            if request.error == nil { request.afterCommit.forEach { $0() } }
            request.finish()
        }
    }

    /// One attempt at the whole batch. Throws `mapFull` if any part needs a bigger map.
    ///
    /// First every closure runs straight in the one transaction: the common case, where all
    /// succeed, pays for no nested transaction (LMDB gives each one its own dirty-page list
    /// and copies every page it touches). A closure that throws cannot be rolled back alone
    /// there, so that transaction is aborted and the batch runs again with a nested
    /// transaction per closure, each committing or failing on its own.
    private func runOnce(_ batch: [WriteRequest], in environment: Environment) throws {
        if try !pass(batch, in: environment, nested: false) { _ = try pass(batch, in: environment, nested: true) }
    }

    private func begin(_ environment: Environment, parent: OpaquePointer? = nil) throws -> OpaquePointer {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(environment.env, parent, 0, &txn)
        if rc == MDB_MAP_RESIZED && parent == nil {
            try environment.resizeLock.withExclusive { try check(mdb_env_set_mapsize(environment.env, 0)) }
            rc = mdb_txn_begin(environment.env, nil, 0, &txn)
        }
        try check(rc)
        return txn!
    }

    /// One pass over the batch in one transaction. `nested`: each closure in a child
    /// transaction of its own, so one that throws is rolled back alone. Returns whether the
    /// batch is done: false when a closure threw in a flat pass (all of it was aborted).
    private func pass(_ batch: [WriteRequest], in environment: Environment, nested: Bool) throws -> Bool {
        let parent = try begin(environment)
        var committed = false
        defer { if !committed { mdb_txn_abort(parent) } }
        // Flat, the closures share the commit's accumulators, written once before it.
        let shared = CommitAccumulators()
        for request in batch {
            request.error = nil
            request.afterCommit = []
            let handle = nested ? try begin(environment, parent: parent) : parent
            let accumulators = nested ? CommitAccumulators() : shared
            let transaction = WriteTransaction(pointer: handle, accumulators: accumulators)
            do {
                try request.body?(transaction)
                // Still open: a failed flush leaves the child to be aborted below. A failed
                // commit needs no abort (LMDB frees the transaction either way).
                if nested { try accumulators.flush(into: handle) }
                transaction.isOpen = false
                if nested { try check(mdb_txn_commit(handle)) }
                request.afterCommit = transaction.afterCommit
            } catch {
                if nested && transaction.isOpen { mdb_txn_abort(handle) }
                transaction.isOpen = false
                if Self.needsBiggerMap(error) { throw LMDBError.mapFull }
                request.error = error
                // Flat, a failure spoils the whole transaction: abort it, and let the nested
                // pass isolate the failure, unless the closure is alone (the abort rolls it back).
                if !nested { return batch.count == 1 }
            }
        }
        do {
            try shared.flush(into: parent)
        } catch {
            throw Self.needsBiggerMap(error) ? LMDBError.mapFull : error
        }
        committed = true
        try check(mdb_txn_commit(parent))
        return true
    }

    /// MAP_FULL, or the BAD_TXN that follows it when a closure swallowed the first error.
    private static func needsBiggerMap(_ error: Error) -> Bool {
        guard let lmdb = error as? LMDBError else { return false }
        return lmdb == .mapFull || lmdb == .badTransaction
    }
}

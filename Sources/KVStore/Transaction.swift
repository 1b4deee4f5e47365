import CLMDB

/// What both kinds of transaction can do: read. Tables take `some ReadableTransaction` for
/// lookups and scans, and only `WriteTransaction` for changes.
///
/// A transaction is valid only inside the closure that received it (`Environment.read` or
/// `Environment.write`); keeping it past that is a programming error, caught by a precondition.
public protocol ReadableTransaction: AnyObject {
    var handle: OpaquePointer { get }
}

public final class ReadTransaction: ReadableTransaction {
    let pointer: OpaquePointer
    var isOpen = true

    init(pointer: OpaquePointer) { self.pointer = pointer }

    public var handle: OpaquePointer {
        precondition(isOpen, "a read transaction was used after its closure returned")
        return pointer
    }
}

public final class WriteTransaction: ReadableTransaction {
    let pointer: OpaquePointer
    var isOpen = true
    /// Work to run after the batch that contains this transaction committed durably
    /// (waking job threads, for example). Runs on the writer thread: keep it short.
    var afterCommit: [@Sendable () -> Void] = []
    let accumulators: CommitAccumulators

    init(pointer: OpaquePointer, accumulators: CommitAccumulators = CommitAccumulators()) {
        self.pointer = pointer
        self.accumulators = accumulators
    }

    /// The commit's accumulator of type `A`, made by `make` on first use. Every write of a
    /// group commit gets the same one (a write that must be rolled back alone gets its own).
    public func accumulator<A: CommitAccumulator>(_ make: () -> A) -> A {
        precondition(isOpen, "a write transaction was used after its closure returned")
        return accumulators.get(make)
    }

    public var handle: OpaquePointer {
        precondition(isOpen, "a write transaction was used after its closure returned")
        return pointer
    }

    /// Runs `action` once this transaction's changes are durable; never if it rolls back.
    public func onCommit(_ action: @escaping @Sendable () -> Void) {
        afterCommit.append(action)
    }
}

/// Totals that many writes of one commit add to, such as statistics counters. Each write adds
/// its part to the commit's accumulator (`WriteTransaction.accumulator`), and the sum is
/// written once, just before the commit, in the same transaction: one read and one write of
/// each counter per commit instead of per write, and the same counters end up the same.
///
/// Until then the counters in the table do not include what was added: an accumulator is for
/// totals that are read in other transactions, not by the writes that add to them.
public protocol CommitAccumulator: AnyObject {
    /// Writes what was added up. Called once, just before the commit.
    func flush(_ txn: WriteTransaction) throws
}

final class CommitAccumulators {
    private var byType: [ObjectIdentifier: CommitAccumulator] = [:]

    func get<A: CommitAccumulator>(_ make: () -> A) -> A {
        if let existing = byType[ObjectIdentifier(A.self)] as? A { return existing }
        let created = make()
        byType[ObjectIdentifier(A.self)] = created
        return created
    }

    /// Writes every accumulator through a transaction on `handle`, then forgets them.
    func flush(into handle: OpaquePointer) throws {
        guard !byType.isEmpty else { return }
        let accumulators = byType.values
        byType = [:]
        let txn = WriteTransaction(pointer: handle)
        defer { txn.isOpen = false }
        for accumulator in accumulators { try accumulator.flush(txn) }
    }
}

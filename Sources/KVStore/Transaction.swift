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

    init(pointer: OpaquePointer) { self.pointer = pointer }

    public var handle: OpaquePointer {
        precondition(isOpen, "a write transaction was used after its closure returned")
        return pointer
    }

    /// Runs `action` once this transaction's changes are durable; never if it rolls back.
    public func onCommit(_ action: @escaping @Sendable () -> Void) {
        afterCommit.append(action)
    }
}

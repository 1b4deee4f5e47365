import Foundation

/// At most one of something per key at a time (one CSV export per user): an export streams for
/// as long as it takes, and a user who clicks "Export" ten times should not hold ten threads.
public final class ExclusiveSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var taken: Set<UInt64> = []

    public init() {}

    /// Held until it is released or deallocated: a streamed body's closure captures it, so the
    /// slot frees itself whether the body ran to the end, failed, or was never sent.
    public final class Slot: @unchecked Sendable {
        private let slots: ExclusiveSlots
        private let key: UInt64
        private var released = false
        private let lock = NSLock()

        init(_ slots: ExclusiveSlots, _ key: UInt64) {
            self.slots = slots
            self.key = key
        }

        public func release() {
            lock.lock()
            let first = !released
            released = true
            lock.unlock()
            if first { slots.free(key) }
        }

        deinit { release() }
    }

    /// The slot for `key`, or nil while another holds it.
    public func take(_ key: UInt64) -> Slot? {
        lock.lock()
        defer { lock.unlock() }
        guard taken.insert(key).inserted else { return nil }
        return Slot(self, key)
    }

    private func free(_ key: UInt64) {
        lock.lock()
        taken.remove(key)
        lock.unlock()
    }
}

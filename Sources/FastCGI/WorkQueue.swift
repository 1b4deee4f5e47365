import Foundation

/// What the server's threads take turns at: reading and answering the next request of a
/// connection, or sending a response that came later.
enum Work {
    case read(Connection)
    case send(Connection, LaterResponse)
}

/// A FIFO of work with one rule about waking: at most one sleeping thread is being woken at a
/// time, and a thread that takes work while more is queued wakes the next. A burst of work
/// therefore wakes threads one after another only while they are needed, instead of one
/// per item, and a busy thread takes the next item without sleeping at all: on a small
/// machine the wake-ups, not the work, were what a webhook cost most.
final class WorkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Work] = []
    private var head = 0
    private var sleepers = 0
    private var waking = false
    private var closed = false

    func push(_ work: Work) {
        condition.lock()
        items.append(work)
        wakeOneIfNeeded()
        condition.unlock()
    }

    /// The next item, or nil once the queue is closed.
    func pop() -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count {
            if closed { return nil }
            sleepers += 1
            condition.wait()
            sleepers -= 1
            waking = false
        }
        let work = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            // Never empty under a steady load: drop what was taken, or it would pile up.
            items.removeFirst(head)
            head = 0
        }
        wakeOneIfNeeded()
        return work
    }

    /// Wakes every thread; `pop` returns nil once nothing is left.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Called with the lock held.
    private func wakeOneIfNeeded() {
        if head < items.count && sleepers > 0 && !waking {
            waking = true
            condition.signal()
        }
    }
}

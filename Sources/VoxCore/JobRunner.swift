import Foundation

/// Background threads that claim due jobs and run their handlers.
///
/// A handler returns `.done` or `.later(seconds)`, or throws to fail the attempt. Handlers
/// must be idempotent: a job whose worker died mid-run runs again when its lease ends.
public final class JobRunner: @unchecked Sendable {
    public enum Outcome: Sendable, Equatable {
        case done
        case later(TimeInterval)
    }

    public typealias Handler = @Sendable (Job) throws -> Outcome

    /// Thrown by a handler when no retry can succeed: the job is parked at once with `reason`.
    public struct PermanentFailure: Error, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    let queue: JobQueue
    let handlers: [String: Handler]
    let threads: Int
    let batch: Int
    private let condition = NSCondition()
    private var stopping = false
    private var wakeups = 0
    private var running = 0

    public init(queue: JobQueue, threads: Int = 2, batch: Int = 8, handlers: [String: Handler]) {
        self.queue = queue
        self.threads = max(1, threads)
        self.batch = batch
        self.handlers = handlers
    }

    public func start() {
        for index in 0..<threads {
            let thread = Thread { [self] in loop() }
            thread.name = "jobs-\(index)"
            condition.lock()
            running += 1
            condition.unlock()
            thread.start()
        }
    }

    /// Something was enqueued: look now instead of at the next scheduled time. Call it from
    /// `WriteTransaction.onCommit`, so the runner never looks before the job is visible.
    public func wake() {
        condition.lock()
        wakeups += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Stops after the jobs in hand; waits for the threads.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            let seen = wakeups
            let stop = stopping
            condition.unlock()
            if stop { return }
            let jobs = (try? queue.claim(limit: batch)) ?? []
            for job in jobs { run(job) }
            if !jobs.isEmpty { continue }
            // Nothing due: sleep until the next due time (at most a few seconds, so a clock
            // change or another process's enqueue is noticed) or a wake-up.
            let next = (try? queue.nextDue()) ?? nil
            let until = min(next ?? .distantFuture, Date().addingTimeInterval(2))
            condition.lock()
            if wakeups == seen && !stopping { _ = condition.wait(until: until) }
            condition.unlock()
        }
    }

    private func run(_ job: Job) {
        guard let handler = handlers[job.kind] else {
            try? queue.fail(job, error: "no handler for job kind '\(job.kind)'")
            return
        }
        do {
            switch try handler(job) {
            case .done: try queue.complete(job)
            case let .later(delay): try queue.later(job, delay: delay)
            }
        } catch let failure as PermanentFailure {
            try? queue.park(job, error: failure.reason)
        } catch {
            try? queue.fail(job, error: String(describing: error))
        }
    }
}

import Essentials
import Foundation
import Logging
import Metrics
import Threads

/// Background threads that claim due jobs and run their handlers.
///
/// A handler returns `.done` or `.later(seconds)`, or throws to fail the attempt. Handlers
/// must be idempotent: a job whose worker died mid-run runs again when its lease ends.
///
/// While a handler runs, the runner renews its job's lease every third of the lease. The
/// lease is there for a worker that died; a job of a live worker that outlasts it (a large
/// recording uploaded slower than the lease) must not be claimed by the next free runner
/// thread and run twice at once, which uploaded the same recording twice.
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
    let handlers: [JobKind: Handler]
    let threads: Int
    let batch: Int
    let logger: Logger
    private let condition = NSCondition()
    private var stopping = false
    /// Claiming loops still running.
    private var running = 0
    private var started: [JoinableThread] = []
    /// The jobs whose handlers are running, by id. Its own lock, never held by the writer
    /// thread (which calls `wake` after commits): a renewal is a write, made under this lock so
    /// that it never lands after the job's outcome.
    private let leases = NSLock()
    private var inHand: [UInt64: Job] = [:]

    public init(queue: JobQueue, threads: Int = 2, batch: Int = 8, handlers: [JobKind: Handler], logger: Logger) {
        self.logger = logger
        self.queue = queue
        self.threads = max(1, threads)
        self.batch = batch
        self.handlers = handlers
    }

    public func start() throws {
        condition.lock()
        defer { condition.unlock() }
        running = threads
        started = try (0..<threads).map { index in try JoinableThread(name: "jobs-\(index)") { [self] in loop() } }
        started.append(try JoinableThread(name: "jobs-leases") { [self] in renewLeases() })
    }

    /// Look now instead of at the next scheduled time. `JobQueue.enqueue` does this after its
    /// commit; call it from `WriteTransaction.onCommit`, so the runner never looks before the
    /// job is visible.
    public func wake() { signal.raise() }

    private var signal: JobSignal { queue.database.jobSignal }

    /// Stops: each thread finishes the job in hand, and gives back the jobs it claimed but has
    /// not begun (due at once, the attempt not counted), for up to `gracePeriod`; then the
    /// threads are waited for. False when a job was still running at the deadline: its thread
    /// is left running, and the caller should end the process without tearing anything down.
    @discardableResult
    public func stop(gracePeriod: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(gracePeriod)
        condition.lock()
        stopping = true
        condition.broadcast()
        signal.raise()
        while running > 0 && Date() < deadline { _ = condition.wait(until: deadline) }
        let finished = running == 0
        let ended = finished ? started : []
        if finished { started = [] }
        condition.unlock()
        ended.forEach { $0.join() }
        return finished
    }

    private func loop() {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            let seen = signal.current
            if isStopping { return }
            let jobs = (try? queue.claim(limit: batch)) ?? []
            for (index, job) in jobs.enumerated() {
                if isStopping {
                    for unstarted in jobs[index...] { try? queue.later(unstarted, delay: 0) }
                    return
                }
                run(job)
            }
            if !jobs.isEmpty { continue }
            // Nothing due: sleep until the next due time (at most a few seconds, so a clock
            // change or another process's enqueue is noticed) or a wake-up.
            let next = (try? queue.nextDue()) ?? nil
            signal.wait(since: seen, until: min(next ?? .distantFuture, Date().addingTimeInterval(2)))
        }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func run(_ job: Job) {
        guard let handler = handlers[JobKind(rawValue: job.kind)] else {
            // Failed, not parked, as before: a newer worker on the same data may know the kind.
            let reason = "no handler for job kind '\(job.kind)'"
            logger.warning("job attempt failed: no handler for its kind", metadata: metadata(job, reason))
            try? queue.fail(job, error: reason)
            return
        }
        leases.lock()
        inHand[job.id] = job
        leases.unlock()
        let outcome = Result { try handler(job) }
        leases.lock()
        inHand[job.id] = nil
        leases.unlock()
        do {
            switch try outcome.get() {
            case .done: try queue.complete(job)
            case let .later(delay): try queue.later(job, delay: delay)
            }
        } catch let failure as PermanentFailure {
            JobRunner.countFailure(job, permanent: true)
            logger.error("job parked", metadata: metadata(job, failure.reason))
            try? queue.park(job, error: failure.reason)
        } catch {
            JobRunner.countFailure(job, permanent: job.attempts >= queue.maxAttempts)
            let reason = String(describing: error)
            if job.attempts >= queue.maxAttempts {
                logger.error("job parked after its last attempt", metadata: metadata(job, reason))
            } else {
                logger.warning("job attempt failed; it runs again later", metadata: metadata(job, reason))
            }
            try? queue.fail(job, error: reason)
        }
    }

    private func metadata(_ job: Job, _ reason: String) -> Logger.Metadata {
        ["job_id": .stringConvertible(job.id), "kind": .string(job.kind), "attempt": .stringConvertible(job.attempts),
         "error": .string(LogText.escape(reason, limit: 1024))]
    }

    /// Until the claiming loops have ended: every third of the lease, pushes out the lease of
    /// each job in hand.
    private func renewLeases() {
        let every = max(0.1, queue.lease / 3)
        var next = Date().addingTimeInterval(every)
        condition.lock()
        while running > 0 {
            if Date() < next {
                _ = condition.wait(until: next)
                continue
            }
            condition.unlock()
            leases.lock()
            for job in inHand.values { try? queue.extendLease(job) }
            leases.unlock()
            next = Date().addingTimeInterval(every)
            condition.lock()
        }
        condition.unlock()
    }
}

extension JobRunner {
    /// A failed attempt, by kind (one of ours, else "other": a stored kind is not a label).
    static func countFailure(_ job: Job, permanent: Bool) {
        let kind = JobKind.all.contains(JobKind(rawValue: job.kind)) ? job.kind : "other"
        Counter(label: MetricName.jobFailures, dimensions: [("kind", kind), ("permanent", String(permanent))]).increment()
        if kind == JobKind.archiveRecording.rawValue {
            Counter(label: MetricName.recordings, dimensions: [("outcome", "failed")]).increment()
        }
    }
}

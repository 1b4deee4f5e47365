import Essentials
import Foundation
import KVStore

/// Follow-up work (fetch a transcript, archive a recording) as records in LMDB.
public struct Job: Codable, Sendable, Equatable {
    public var id: UInt64
    /// What to do: a `JobKind`'s raw value (stored as text, so an unknown kind from a newer
    /// version stays readable instead of failing to decode).
    public var kind: String
    /// What to do it to (an id, or small JSON).
    public var payload: String
    /// "The same thing": a second enqueue with this key, while the first is pending or parked,
    /// changes nothing.
    public var dedupeKey: String?
    public var attempts: Int
    /// When the job is due (or, while claimed, when its lease runs out).
    public var dueMicros: UInt64
    public var lastError: String?
    public var createdAt: Date
    public var failedAt: Date?
}

/// A durable queue in LMDB.
///
/// - A job is enqueued inside the write transaction of the data that caused it, so the two
///   commit or vanish together.
/// - Claiming moves a job's due time to the end of a lease instead of marking it taken: if the
///   worker dies mid-job, the lease runs out and the job is simply due again. No recovery pass.
/// - A failure reschedules with exponential backoff and jitter; after `maxAttempts` the job is
///   parked with its last error until an admin retries or discards it.
public struct JobQueue: Sendable {
    let database: Database
    let clock: any Clock
    public var maxAttempts = 8
    public var baseDelay: TimeInterval = 5
    public var maxDelay: TimeInterval = 3600
    public var lease: TimeInterval = 300

    public init(database: Database, clock: any Clock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    var now: UInt64 { Time.micros(clock.now()) }

    /// Enqueues, or returns the id of the job with the same `dedupeKey`. `inserted` says which.
    @discardableResult
    public func enqueue(kind: JobKind, payload: String, dedupeKey: String? = nil, delay: TimeInterval = 0,
                        in txn: WriteTransaction) throws -> (id: UInt64, inserted: Bool) {
        if let dedupeKey, let existing = try database.jobsByDedupe.get(txn, dedupeKey) { return (existing, false) }
        let id = try database.nextID("jobs", in: txn)
        let job = Job(id: id, kind: kind.rawValue, payload: payload, dedupeKey: dedupeKey, attempts: 0,
                      dueMicros: now + UInt64(max(0, delay) * 1_000_000), lastError: nil, createdAt: clock.now(), failedAt: nil)
        try database.jobs.put(txn, id, job)
        try database.jobsDue.put(txn, (job.dueMicros, id), ())
        if let dedupeKey { try database.jobsByDedupe.put(txn, dedupeKey, id) }
        txn.onCommit { [signal = database.jobSignal] in signal.raise() }
        return (id, true)
    }

    /// Takes up to `limit` due jobs, leasing each for `lease` seconds.
    public func claim(limit: Int) throws -> [Job] {
        let now = self.now
        let leaseEnd = now + UInt64(lease * 1_000_000)
        // Most wake-ups find nothing due (another runner took it, or it is due later): a read
        // says so without queueing a write for the writer thread.
        let anyDue = try database.environment.read { txn in
            try !database.jobsDue.keys(txn, .closed((0, 0), (now, .max)), limit: 1).isEmpty
        }
        guard anyDue else { return [] }
        return try database.environment.write { txn in
            let due = try database.jobsDue.keys(txn, .closed((0, 0), (now, .max)), limit: limit)
            return try due.compactMap { key -> Job? in
                try database.jobsDue.delete(txn, key)
                guard var job = try database.jobs.get(txn, key.1) else { return nil }
                job.attempts += 1
                job.dueMicros = leaseEnd
                try database.jobs.put(txn, job.id, job)
                try database.jobsDue.put(txn, (leaseEnd, job.id), ())
                return job
            }
        }
    }

    /// Still working on it: pushes the lease end out again, so that a long job (a sync of
    /// many pages) is not taken by another runner while it is alive.
    public func extendLease(_ job: Job) throws {
        try reschedule(job, delay: lease, error: nil, countAttempt: true)
    }

    /// The job is done: it disappears, and its dedupe key is free again.
    public func complete(_ job: Job) throws {
        try database.environment.write { txn in try remove(job.id, in: txn) }
    }

    /// Not yet (the conversation is still processing): due again after `delay`, without
    /// counting as a failed attempt.
    public func later(_ job: Job, delay: TimeInterval) throws {
        try reschedule(job, delay: delay, error: nil, countAttempt: false)
    }

    /// The attempt failed: back off, or park the job once it has failed `maxAttempts` times.
    public func fail(_ job: Job, error: String) throws {
        if job.attempts >= maxAttempts {
            try park(job, error: error)
        } else {
            try reschedule(job, delay: Backoff(base: baseDelay, limit: maxDelay).delay(attempt: job.attempts), error: error,
                           countAttempt: true)
        }
    }

    /// Parks the job now: trying again cannot help (the recording is gone at the source).
    /// It waits on the Jobs page with `error` until an admin retries or discards it.
    public func park(_ job: Job, error: String) throws {
        try database.environment.write { txn in
            guard var stored = try database.jobs.get(txn, job.id) else { return }
            try database.jobsDue.delete(txn, (stored.dueMicros, job.id))
            try database.jobs.delete(txn, job.id)
            stored.lastError = error
            stored.failedAt = clock.now()
            try database.failedJobs.put(txn, job.id, stored)
        }
    }

    private func reschedule(_ job: Job, delay: TimeInterval, error: String?, countAttempt: Bool) throws {
        try database.environment.write { txn in
            guard var stored = try database.jobs.get(txn, job.id) else { return }
            try database.jobsDue.delete(txn, (stored.dueMicros, job.id))
            stored.dueMicros = now + UInt64(max(0, delay) * 1_000_000)
            stored.lastError = error ?? stored.lastError
            if !countAttempt { stored.attempts = max(0, stored.attempts - 1) }
            try database.jobs.put(txn, job.id, stored)
            try database.jobsDue.put(txn, (stored.dueMicros, job.id), ())
        }
    }

    /// An admin's "retry": a parked job is due now, with a fresh attempt budget.
    public func retry(id: UInt64) throws {
        try database.environment.write { txn in
            guard var job = try database.failedJobs.get(txn, id) else { return }
            try database.failedJobs.delete(txn, id)
            job.attempts = 0
            job.failedAt = nil
            job.dueMicros = now
            try database.jobs.put(txn, id, job)
            try database.jobsDue.put(txn, (job.dueMicros, id), ())
            txn.onCommit { [signal = database.jobSignal] in signal.raise() }
        }
    }

    /// Discards parked jobs that failed before `cutoff`: nobody retried them within the
    /// retention, and the table would otherwise only grow. Returns how many.
    @discardableResult
    public func purgeParked(before cutoff: Date) throws -> Int {
        try database.environment.write { txn in
            var old: [UInt64] = []
            try database.failedJobs.scan(txn) { id, job in
                if (job.failedAt ?? job.createdAt) < cutoff { old.append(id) }
                return true
            }
            for id in old { try remove(id, in: txn) }
            return old.count
        }
    }

    /// An admin's "discard": the parked job is gone for good.
    public func discard(id: UInt64) throws {
        try database.environment.write { txn in try remove(id, in: txn) }
    }

    private func remove(_ id: UInt64, in txn: WriteTransaction) throws {
        let job = try database.jobs.get(txn, id) ?? database.failedJobs.get(txn, id)
        guard let job else { return }
        try database.jobsDue.delete(txn, (job.dueMicros, id))
        try database.jobs.delete(txn, id)
        try database.failedJobs.delete(txn, id)
        if let key = job.dedupeKey, try database.jobsByDedupe.get(txn, key) == id { try database.jobsByDedupe.delete(txn, key) }
    }

    public func pending() throws -> [Job] {
        try database.environment.read { txn in try database.jobs.entries(txn).map(\.value) }
    }

    public func failed() throws -> [Job] {
        try database.environment.read { txn in try database.failedJobs.entries(txn).map(\.value) }
    }

    /// When the next job is due, if any: how long a runner may sleep.
    public func nextDue() throws -> Date? {
        try database.environment.read { txn in try database.jobsDue.keys(txn, limit: 1).first.map { Time.date(micros: $0.0) } }
    }
}

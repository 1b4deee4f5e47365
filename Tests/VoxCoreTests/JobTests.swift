import Foundation
import Logging
import Testing
@testable import VoxCore

@Suite struct JobTests {
    final class Fixture {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-\(UUID())").path
        let clock = ManualClock()
        var database: Database
        var queue: JobQueue

        init() throws {
            database = try Database(path: path)
            queue = JobQueue(database: database, clock: clock)
            queue.maxAttempts = 3
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        @discardableResult
        func enqueue(_ payload: String, key: String? = nil) throws -> (id: UInt64, inserted: Bool) {
            try database.environment.write { txn in try queue.enqueue(kind: "k", payload: payload, dedupeKey: key, in: txn) }
        }
    }

    @Test func sameThingEnqueuedTwiceRunsOnce() throws {
        let f = try Fixture()
        let first = try f.enqueue("call 1", key: "transcript:1")
        let second = try f.enqueue("call 1", key: "transcript:1")
        #expect(first.inserted && !second.inserted && first.id == second.id)
        #expect(try f.queue.claim(limit: 10).count == 1)
        #expect(try f.queue.claim(limit: 10).isEmpty)
    }

    @Test func rollbackTakesTheJobWithIt() throws {
        let f = try Fixture()
        _ = try? f.database.environment.write { txn in
            try f.queue.enqueue(kind: "k", payload: "x", in: txn)
            throw CancellationError()
        }
        #expect(try f.queue.pending().isEmpty)
    }

    @Test func failuresBackOffThenPark() throws {
        let f = try Fixture()
        try f.enqueue("p", key: "d")
        var job = try #require(try f.queue.claim(limit: 1).first)
        try f.queue.fail(job, error: "upstream 500")
        #expect(try f.queue.claim(limit: 1).isEmpty, "not due yet: backing off")
        f.clock.advance(by: 6)
        job = try #require(try f.queue.claim(limit: 1).first)
        #expect(job.attempts == 2)
        try f.queue.fail(job, error: "upstream 500")
        f.clock.advance(by: 11)
        job = try #require(try f.queue.claim(limit: 1).first)
        try f.queue.fail(job, error: "still 500")
        #expect(try f.queue.pending().isEmpty)
        let parked = try f.queue.failed()
        #expect(parked.map(\.lastError) == ["still 500"])
        // Parked, the dedupe key still holds: the same thing is not queued again behind it.
        #expect(try f.enqueue("p", key: "d").inserted == false)
        try f.queue.retry(id: parked[0].id)
        #expect(try f.queue.claim(limit: 1).first?.attempts == 1)
    }

    @Test func parkedJobsPastTheRetentionArePurged() throws {
        let f = try Fixture()
        try f.enqueue("old", key: "old")
        try f.queue.park(try #require(try f.queue.claim(limit: 1).first), error: "gone")
        f.clock.advance(by: 40 * 86_400)
        try f.enqueue("new", key: "new")
        try f.queue.park(try #require(try f.queue.claim(limit: 1).first), error: "gone")
        #expect(try f.queue.purgeParked(before: f.clock.now() - 30 * 86_400) == 1)
        #expect(try f.queue.failed().map(\.payload) == ["new"])
        #expect(try f.enqueue("old", key: "old").inserted, "its dedupe key is free again")
    }

    @Test func discardFreesTheKey() throws {
        let f = try Fixture()
        let id = try f.enqueue("p", key: "d").id
        try f.queue.discard(id: id)
        #expect(try f.queue.pending().isEmpty)
        #expect(try f.enqueue("p", key: "d").inserted)
    }

    @Test func jobOfADeadWorkerIsPickedUpAgain() throws {
        let f = try Fixture()
        try f.enqueue("p")
        let claimed = try f.queue.claim(limit: 1)
        #expect(claimed.count == 1)
        // The worker died: no complete, no fail. Until the lease ends nobody else takes it…
        f.clock.advance(by: 299)
        #expect(try f.queue.claim(limit: 1).isEmpty)
        // …then it is due again.
        f.clock.advance(by: 2)
        #expect(try f.queue.claim(limit: 1).map(\.id) == claimed.map(\.id))
    }

    @Test func laterDoesNotCountAsFailure() throws {
        let f = try Fixture()
        try f.enqueue("conv_pending")
        for _ in 0..<10 {
            let job = try #require(try f.queue.claim(limit: 1).first)
            try f.queue.later(job, delay: 30)
            f.clock.advance(by: 31)
        }
        #expect(try f.queue.failed().isEmpty)
        #expect(try f.queue.pending().first?.attempts == 0)
    }

    @Test func jobsSurviveRestart() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-restart-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let database = try Database(path: path)
            try database.environment.write { txn in
                try JobQueue(database: database).enqueue(kind: "k", payload: "durable", dedupeKey: "x", in: txn)
            }
        }  // closed here, as by a restart
        let reopened = try Database(path: path)
        #expect(try JobQueue(database: reopened).claim(limit: 5).map(\.payload) == ["durable"])
    }

    @Test func runnerRunsEveryJobExactlyOnce() throws {
        let f = try Fixture()
        let seen = Seen()
        let runner = JobRunner(queue: JobQueue(database: f.database), threads: 3, batch: 4, handlers: [
            "k": { job in
                seen.add(job.payload)
                return .done
            },
        ], logger: Logger(label: "test"))
        try runner.start()
        for i in 0..<200 {
            try f.database.environment.write { txn in
                try JobQueue(database: f.database).enqueue(kind: "k", payload: "\(i)", dedupeKey: "job-\(i)", in: txn)
                txn.onCommit { runner.wake() }
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while seen.count < 200 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        runner.stop()
        #expect(seen.count == 200)
        #expect(seen.distinct == 200)
        #expect(try JobQueue(database: f.database).pending().isEmpty)
    }

    /// A handler that outlasts its lease (a slow recording upload) keeps its job: the runner
    /// renews the lease while it runs, so the other runner thread never takes it too.
    @Test func aJobLongerThanItsLeaseRunsOnce() throws {
        let f = try Fixture()
        let seen = Seen()
        var queue = JobQueue(database: f.database)
        queue.lease = 0.6
        let runner = JobRunner(queue: queue, threads: 2, handlers: [
            "slow": { job in
                seen.add(job.payload)
                Thread.sleep(forTimeInterval: 2)
                return .done
            },
        ], logger: Logger(label: "test"))
        try runner.start()
        try f.database.environment.write { txn in
            try queue.enqueue(kind: "slow", payload: "upload", in: txn)
            txn.onCommit { runner.wake() }
        }
        let deadline = Date().addingTimeInterval(10)
        while (seen.count == 0 || (try? queue.pending().isEmpty) != true) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        runner.stop()
        #expect(seen.count == 1, "ran \(seen.count) times")
        #expect(try queue.pending().isEmpty)
    }

    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
        var distinct: Int { lock.lock(); defer { lock.unlock() }; return Set(items).count }
    }
}

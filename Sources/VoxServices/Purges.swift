import Foundation
import Logging
import VoxCore

/// What would otherwise grow without bound, purged by age: login-failure counters past their
/// window, parked jobs nobody retried, transcripts no call ever claimed, audit entries past
/// their retention. Run by housekeeping.
public struct Purges: Sendable {
    let database: Database
    let throttle: LoginThrottle
    let jobs: JobQueue
    let clock: any Clock
    let parkedJobDays: Double
    let orphanTranscriptDays: Double
    let auditDays: Int

    public init(database: Database, throttle: LoginThrottle, jobs: JobQueue, clock: any Clock, parkedJobDays: Double,
                orphanTranscriptDays: Double, auditDays: Int) {
        self.auditDays = auditDays
        self.database = database
        self.throttle = throttle
        self.jobs = jobs
        self.clock = clock
        self.parkedJobDays = parkedJobDays
        self.orphanTranscriptDays = orphanTranscriptDays
    }

    /// One pass; logs what it removed.
    public func run(logger: Logger) throws {
        let now = clock.now()
        let counts = [
            ("login failure counters", try throttle.purgeExpired()),
            ("parked jobs", try jobs.purgeParked(before: now - parkedJobDays * 86_400)),
            ("orphan transcripts", try CallStore(database: database).purgeOrphanTranscripts(before: now - orphanTranscriptDays * 86_400)),
            ("audit entries", try AuditLog(database: database, clock: clock).purge(olderThan: auditDays)),
        ]
        for (what, count) in counts where count > 0 {
            logger.notice("purged \(what)", metadata: ["count": .stringConvertible(count)])
        }
    }
}

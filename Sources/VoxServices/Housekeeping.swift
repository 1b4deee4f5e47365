import Essentials
import Foundation
import Logging
import Threads
import VoxCore

/// Once a minute, on a thread of its own from `start` until `stop`: recordings past retention
/// and the purges of what outsiders can make grow (every `sweepEvery`), a sync of each active
/// account (every `syncEvery`), calls whose end event never came, expired sessions, and a
/// backup when the schedule says one is due.
public final class Housekeeping: @unchecked Sendable {
    public struct Schedule: Sendable {
        public var syncEvery: TimeInterval
        public var sweepEvery: TimeInterval
        /// A call with no end event after this long is closed as failed.
        public var staleCallAfter: TimeInterval

        public init(syncEvery: TimeInterval, sweepEvery: TimeInterval, staleCallAfter: TimeInterval) {
            self.syncEvery = syncEvery
            self.sweepEvery = sweepEvery
            self.staleCallAfter = staleCallAfter
        }
    }

    let retention: RecordingRetention
    let purges: Purges
    let sync: CallSync
    let maintenance: CallMaintenance
    let sessions: Sessions
    let backups: BackupJob?
    let schedule: Schedule
    let logger: Logger
    private let condition = NSCondition()
    private var stopping = false
    private var thread: JoinableThread?

    public init(retention: RecordingRetention, purges: Purges, sync: CallSync, maintenance: CallMaintenance, sessions: Sessions,
                backups: BackupJob? = nil, schedule: Schedule, logger: Logger) {
        self.retention = retention
        self.purges = purges
        self.sync = sync
        self.maintenance = maintenance
        self.sessions = sessions
        self.backups = backups
        self.schedule = schedule
        self.logger = logger
    }

    public func start() throws {
        let pause = min(60, max(1, min(schedule.syncEvery, schedule.sweepEvery)))
        thread = try JoinableThread(name: "housekeeping") { [self] in
            var lastSync = Date.distantPast
            var lastSweep = Date.distantPast
            repeat {
                do {
                    if Date().timeIntervalSince(lastSweep) >= schedule.sweepEvery {
                        lastSweep = Date()
                        let released = try retention.sweep()
                        if released > 0 { logger.notice("recordings past retention", metadata: ["count": .stringConvertible(released)]) }
                        try purges.run(logger: logger)
                    }
                    if Date().timeIntervalSince(lastSync) >= schedule.syncEvery {
                        lastSync = Date()
                        try sync.enqueueAll()
                    }
                    let closed = try maintenance.closeStale(timeout: schedule.staleCallAfter)
                    if closed > 0 { logger.notice("closed calls without an end event", metadata: ["count": .stringConvertible(closed)]) }
                    try sessions.purgeExpired()
                    try backups?.enqueueIfDue()
                } catch {
                    logger.error("housekeeping failed", metadata: ["error": .string(LogText.escape(String(describing: error), limit: 1024))])
                }
            } while waitOrStop(pause)
        }
    }

    /// Ends the loop, at once if it is waiting, else after the round in progress, and waits
    /// for its thread.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        thread?.join()
        thread = nil
    }

    /// Waits `seconds`; false when asked to stop meanwhile (or before).
    private func waitOrStop(_ seconds: TimeInterval) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopping && Date() < until { _ = condition.wait(until: until) }
        return !stopping
    }
}

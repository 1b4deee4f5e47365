import Foundation
import VoxCore

/// Scheduled and requested backups, as a job: the job runs `voxfcgi backup create` as a
/// child process, because a copy inside the worker would hold its map-resize lock for the
/// whole copy (see `Environment.copy`). The child records its run (`BackupLog`) and prunes by
/// the policy; the job records a run only when the child could not (it died of a signal).
public struct BackupJob: Sendable {
    let database: Database
    let jobs: JobQueue
    public let policy: BackupPolicy
    let clock: any Clock
    /// The program and arguments that take one backup; the worker's own binary by default.
    let command: [String]
    /// A failed run is tried again after this long rather than at the next minute.
    static let retryAfter: TimeInterval = 3600
    static let dedupeKey = "backup"

    public init(database: Database, jobs: JobQueue, policy: BackupPolicy, clock: any Clock,
                command: [String] = ["/proc/self/exe", "backup", "create"]) {
        self.database = database
        self.jobs = jobs
        self.policy = policy
        self.clock = clock
        self.command = command
    }

    public var isScheduled: Bool { policy.everyHours > 0 }

    /// When the schedule next takes one (nil when it is off).
    public func nextRun() throws -> Date? {
        guard isScheduled else { return nil }
        let log = BackupLog(database: database)
        var next = try log.lastSuccess().map { $0.at.addingTimeInterval(Double(policy.everyHours) * 3600) } ?? clock.now()
        // A run that failed since is not retried every minute.
        if let last = try log.recent(limit: 1).first, last.error != nil {
            next = max(next, last.at.addingTimeInterval(BackupJob.retryAfter))
        }
        return next
    }

    /// Housekeeping's part: queues a backup when the schedule says one is due.
    public func enqueueIfDue() throws {
        guard let next = try nextRun(), next <= clock.now() else { return }
        try enqueue(reason: "scheduled")
    }

    /// Queues one now (at most one is ever queued); returns whether this call queued it.
    @discardableResult
    public func enqueue(reason: String) throws -> Bool {
        try database.environment.write { txn in
            try jobs.enqueue(kind: .backup, payload: String(reason.prefix(200)), dedupeKey: BackupJob.dedupeKey, in: txn).inserted
        }
    }

    public func run(_ job: Job) throws -> JobRunner.Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let started = clock.now()
        try process.run()
        let said = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit else {
            try BackupLog(database: database).record(BackupRun(at: started, name: nil, size: nil,
                                                               error: "the backup process died of signal \(process.terminationStatus)"))
            return .done
        }
        if process.terminationStatus != 0 {
            // The child recorded why (unless it failed before it could open the data).
            let text = String(decoding: said.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw JobRunner.PermanentFailure(text.isEmpty ? "voxfcgi backup create exited with \(process.terminationStatus)" : text)
        }
        return .done
    }
}

import Foundation
import KVStore

/// One backup run: when it began, and the backup it made or why it made none.
public struct BackupRun: Codable, Sendable, Equatable {
    public var at: Date
    public var name: String?
    public var size: Int64?
    public var error: String?

    public init(at: Date, name: String?, size: Int64?, error: String?) {
        self.at = at
        self.name = name
        self.size = size
        self.error = error
    }
}

/// The last backup runs, for the Backups page and the schedule: which ran, which failed and
/// why. Kept short (the newest `kept`); the backups themselves are listed from the store.
public struct BackupLog: Sendable {
    public static let kept = 50
    let database: Database

    public init(database: Database) { self.database = database }

    public func record(_ run: BackupRun) throws {
        try database.environment.write { txn in
            try database.backupRuns.put(txn, Time.micros(run.at), run)
            let excess = try database.backupRuns.count(txn) - BackupLog.kept
            guard excess > 0 else { return }
            for key in try database.backupRuns.keys(txn, limit: excess) { try database.backupRuns.delete(txn, key) }
        }
    }

    /// Newest first.
    public func recent(limit: Int = 20) throws -> [BackupRun] {
        try database.environment.read { txn in
            try database.backupRuns.entries(txn, direction: .backward, limit: limit).map(\.value)
        }
    }

    /// The last run that made a backup.
    public func lastSuccess() throws -> BackupRun? {
        try database.environment.read { txn in
            var found: BackupRun?
            try database.backupRuns.scan(txn, direction: .backward) { _, run in
                if run.error == nil { found = run }
                return found == nil
            }
            return found
        }
    }
}

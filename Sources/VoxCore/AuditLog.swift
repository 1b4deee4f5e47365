import Foundation
import KVStore

/// Who did something: a signed-in user from an address, or the command line.
public struct AuditActor: Sendable, Equatable {
    public let userID: UInt64?
    public let email: String
    public let address: String

    public init(userID: UInt64?, email: String, address: String) {
        self.userID = userID
        self.email = email
        self.address = address
    }

    public init(_ user: User, address: String) { self.init(userID: user.id, email: user.email, address: address) }

    /// `voxfcgi` run on the server.
    public static let commandLine = AuditActor(userID: nil, email: "(command line)", address: "local")
}

/// One line of the audit log. `detail` says what changed, never a secret's value.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var at: Date
    public var userID: UInt64?
    public var email: String
    public var address: String
    public var action: String
    public var detail: String
}

/// The actions recorded, named once. A page filters by these names.
public enum AuditAction: String, CaseIterable, Sendable {
    case signIn = "sign-in", signInFailed = "sign-in-failed", signOut = "sign-out"
    case userCreated = "user-created", userInvited = "user-invited", userRoleChanged = "user-role-changed", userDisabled = "user-disabled"
    case userEnabled = "user-enabled", userReset = "user-reset-link", userSessionsEnded = "user-sessions-ended"
    case userWatchesChanged = "user-watches-changed", passwordSet = "password-set", passwordChanged = "password-changed"
    case profileChanged = "profile-changed"
    case secretRevealed = "secret-revealed", callsExported = "calls-exported", recordingDownloaded = "recording-downloaded"
    case jobRetried = "job-retried", jobDiscarded = "job-discarded", deployed = "deployed"
    case vaultRotated = "vault-rotated", storageChanged = "storage-changed"
    case twoFactorEnabled = "2fa-enabled", twoFactorDisabled = "2fa-disabled", teamSettingsChanged = "team-settings-changed"
    case accountAdded = "account-added", accountChanged = "account-changed", accountDeleted = "account-deleted"
    case keyAdded = "key-added", keyChanged = "key-changed", keyDeleted = "key-deleted"
    case applicationAdded = "application-added", applicationChanged = "application-changed"
    case backupRequested = "backup-requested"
}

/// The append-only audit table: keyed by (time µs, sequence), so that it reads newest first
/// with a keyset cursor, and nothing ever rewrites an entry. `record` runs inside the caller's
/// write transaction: the change and its audit line commit together or not at all.
public struct AuditLog: Sendable {
    let database: Database
    let clock: any Clock

    public init(database: Database, clock: any Clock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    public func record(_ action: AuditAction, by actor: AuditActor, _ detail: String, in txn: WriteTransaction) throws {
        let now = clock.now()
        let entry = AuditEntry(at: now, userID: actor.userID, email: actor.email, address: actor.address, action: action.rawValue,
                               detail: String(detail.prefix(2000)))
        try database.audit.put(txn, (Time.micros(now), try database.nextID("audit", in: txn)), entry)
    }

    /// For what is not a change of stored data (an export, a reveal, a download): its own commit.
    public func record(_ action: AuditAction, by actor: AuditActor, _ detail: String) throws {
        try database.environment.write { txn in try record(action, by: actor, detail, in: txn) }
    }

    public struct Filter: Sendable {
        public var userID: UInt64?
        public var action: String?
        public var from: Date?
        public var to: Date?
        public init(userID: UInt64? = nil, action: String? = nil, from: Date? = nil, to: Date? = nil) {
            self.userID = userID
            self.action = action
            self.from = from
            self.to = to
        }
    }

    /// Position of an entry: (µs, sequence). A page continues strictly below it.
    public typealias Cursor = (micros: UInt64, sequence: UInt64)

    /// Newest first, up to `limit`, below `before`; and the cursor of the next page, if any.
    public func page(_ filter: Filter, before: Cursor? = nil, limit: Int = 100) throws
        -> (entries: [AuditEntry], next: Cursor?) {
        let cursorBound = before.map { ($0.micros, $0.sequence) } ?? (UInt64.max, UInt64.max)
        let toBound = filter.to.map { (Time.micros($0), UInt64(0)) } ?? (UInt64.max, UInt64.max)
        let high = cursorBound < toBound ? cursorBound : toBound
        let low = filter.from.map(Time.micros) ?? 0
        var entries: [AuditEntry] = []
        var lastKey: Cursor?
        var more = false
        try database.environment.read { txn in
            try database.audit.scan(txn, .halfOpen(from: (low, 0), below: high), direction: .backward) { key, entry in
                if let user = filter.userID, entry.userID != user { return true }
                if let action = filter.action, entry.action != action { return true }
                guard entries.count < limit else {
                    more = true
                    return false
                }
                entries.append(entry)
                lastKey = (key.0, key.1)
                return true
            }
        }
        return (entries, more ? lastKey : nil)
    }

    /// Deletes entries older than `days` days; 0 keeps everything. Returns how many went.
    @discardableResult
    public func purge(olderThan days: Int) throws -> Int {
        guard days > 0 else { return 0 }
        let cutoff = Time.micros(clock.now().addingTimeInterval(-Double(days) * 86_400))
        return try database.environment.write { txn in
            let keys = try database.audit.keys(txn, .halfOpen(from: (0, 0), below: (cutoff, 0)), limit: 10_000)
            for key in keys { try database.audit.delete(txn, key) }
            return keys.count
        }
    }
}

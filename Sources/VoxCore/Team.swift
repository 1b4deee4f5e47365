import CryptoPrimitives
import Foundation
import KVStore

/// A one-time link that lets a person choose a password: sent for an invitation or a reset.
/// The table keeps only the token's SHA-256, as for sessions.
public struct Invitation: Codable, Sendable, Equatable {
    public enum Purpose: String, Codable, Sendable { case invite, reset }

    public var userID: UInt64
    public var purpose: Purpose
    public var createdAt: Date
    public var expiresAt: Date
}

public enum TeamError: Error, Equatable, CustomStringConvertible {
    case lastAdmin
    case notAnOperator(UInt64)
    case linkExpired

    public var description: String {
        switch self {
        case .lastAdmin: "this is the last active admin: make someone else an admin first"
        case let .notAnOperator(id): "user \(id) is not an operator, so a viewer cannot be assigned to them"
        case .linkExpired: "this link has expired or was already used; ask an admin for a new one"
        }
    }
}

/// Users as an admin manages them from the Team page: invitations, roles, disabling, resets,
/// sessions. Each change and its audit line commit in one transaction.
public struct Team: Sendable {
    let database: Database
    let hasher: PasswordHasher
    let clock: any Clock
    let audit: AuditLog

    /// "expires in 72 h" (issue 15): long enough to pass a link on, short enough to go stale.
    public static let linkLifetime: TimeInterval = 72 * 3600

    public init(database: Database, hasher: PasswordHasher = .standard, clock: any Clock = SystemClock()) {
        self.database = database
        self.hasher = hasher
        self.clock = clock
        audit = AuditLog(database: database, clock: clock)
    }

    public struct Member: Sendable {
        public let user: User
        public let activeSessions: Int
    }

    public func members() throws -> [Member] {
        let now = clock.now()
        return try database.environment.read { txn in
            var sessions: [UInt64: Int] = [:]
            try database.sessions.scan(txn) { _, session in
                if session.expiresAt > now { sessions[session.userID, default: 0] += 1 }
                return true
            }
            return try database.users.entries(txn).map { Member(user: $0.value, activeSessions: sessions[$0.key] ?? 0) }
        }
    }

    /// Adds a user without a password and returns them with their invitation token (shown
    /// once to the admin, who passes the link on; no mail server is assumed).
    public func invite(email rawEmail: String, role: Role, watches: [UInt64] = [], timeZone: String = "UTC",
                       by actor: AuditActor) throws -> (user: User, token: String) {
        let email = Users.normalize(email: rawEmail)
        try Users.validate(email: email)
        let now = clock.now()
        return try database.environment.write { txn in
            guard try database.usersByEmail.get(txn, email) == nil else { throw UserError.emailTaken }
            if role == .viewer { try checkOperators(watches, in: txn) }
            var user = User(id: try database.nextID("users", in: txn), email: email, role: role, passwordHash: "",
                            timeZone: timeZone, createdAt: now)
            if role == .viewer { user.watches = watches }
            try database.users.put(txn, user.id, user)
            try database.usersByEmail.put(txn, email, user.id)
            let token = try issueLink(for: user.id, .invite, in: txn)
            try audit.record(.userInvited, by: actor, "\(email) as \(role.rawValue)", in: txn)
            return (user, token)
        }
    }

    /// A new one-time link for an existing user (a forgotten password). Earlier links of the
    /// user stop working.
    public func resetLink(userID: UInt64, by actor: AuditActor) throws -> String {
        try database.environment.write { txn in
            guard let user = try database.users.get(txn, userID) else { throw UserError.notFound }
            let token = try issueLink(for: userID, user.hasPassword ? .reset : .invite, in: txn)
            try audit.record(.userReset, by: actor, user.email, in: txn)
            return token
        }
    }

    private func issueLink(for userID: UInt64, _ purpose: Invitation.Purpose, in txn: WriteTransaction) throws -> String {
        try dropLinks(of: userID, in: txn)
        let token = Random.bytes(32).base64URLString
        let now = clock.now()
        try database.invitations.put(txn, Sessions.key(token),
                                     Invitation(userID: userID, purpose: purpose, createdAt: now, expiresAt: now + Team.linkLifetime))
        return token
    }

    private func dropLinks(of userID: UInt64, in txn: WriteTransaction) throws {
        var stale: [[UInt8]] = []
        try database.invitations.scan(txn) { key, invitation in
            if invitation.userID == userID || invitation.expiresAt <= clock.now() { stale.append(key) }
            return true
        }
        for key in stale { try database.invitations.delete(txn, key) }
    }

    /// The link's user, while the link is good.
    public func openLink(_ token: String) throws -> (invitation: Invitation, user: User)? {
        guard Sessions.isPlausible(token) else { return nil }
        return try database.environment.read { txn in
            guard let invitation = try database.invitations.get(txn, Sessions.key(token)), invitation.expiresAt > clock.now(),
                  let user = try database.users.get(txn, invitation.userID), !user.isDisabled else { return nil }
            return (invitation, user)
        }
    }

    /// Sets the password chosen through a link; the link is used up, and every session of
    /// the user ends (whoever had the old password is out).
    public func redeem(_ token: String, password: String, address: String) throws -> User {
        guard let (_, user) = try openLink(token) else { throw TeamError.linkExpired }
        if let problem = PasswordPolicy.problem(with: password, email: user.email) { throw UserError.rejectedPassword(problem) }
        let hash = try hasher.hash(password)  // outside the write: ~100 ms
        return try database.environment.write { txn in
            guard let invitation = try database.invitations.get(txn, Sessions.key(token)), invitation.expiresAt > clock.now(),
                  var user = try database.users.get(txn, invitation.userID) else { throw TeamError.linkExpired }
            user.passwordHash = hash
            try database.users.put(txn, user.id, user)
            try dropLinks(of: user.id, in: txn)
            try Sessions.endAll(of: user.id, keeping: nil, database: database, in: txn)
            try audit.record(.passwordSet, by: AuditActor(user, address: address), invitation.purpose == .invite ? "through an invitation link" : "through a reset link", in: txn)
            return user
        }
    }

    public func setRole(userID: UInt64, _ role: Role, watches: [UInt64]? = nil, by actor: AuditActor) throws {
        try database.environment.write { txn in
            guard var user = try database.users.get(txn, userID) else { throw UserError.notFound }
            if user.isAdmin && role != .admin { try keepAnAdmin(besides: userID, in: txn) }
            if role == .viewer { try checkOperators(watches ?? user.watches ?? [], in: txn) }
            let before = user.role
            user.role = role
            user.watches = role == .viewer ? (watches ?? user.watches ?? []) : nil
            try database.users.put(txn, userID, user)
            try audit.record(.userRoleChanged, by: actor, "\(user.email): \(before.rawValue) → \(role.rawValue)", in: txn)
        }
    }

    public func setWatches(userID: UInt64, _ watches: [UInt64], by actor: AuditActor) throws {
        try database.environment.write { txn in
            guard var user = try database.users.get(txn, userID), user.isViewer else { throw UserError.notFound }
            try checkOperators(watches, in: txn)
            user.watches = watches
            try database.users.put(txn, userID, user)
            try audit.record(.userWatchesChanged, by: actor, "\(user.email) sees users \(watches.map(String.init).joined(separator: ", "))",
                             in: txn)
        }
    }

    /// Disabling ends the user's sessions in the same transaction: an open page fails at its next request.
    public func setDisabled(userID: UInt64, _ disabled: Bool, by actor: AuditActor) throws {
        try database.environment.write { txn in
            guard var user = try database.users.get(txn, userID) else { throw UserError.notFound }
            if disabled && user.isAdmin { try keepAnAdmin(besides: userID, in: txn) }
            user.disabled = disabled ? true : nil
            try database.users.put(txn, userID, user)
            if disabled {
                try Sessions.endAll(of: userID, keeping: nil, database: database, in: txn)
                try dropLinks(of: userID, in: txn)
            }
            try audit.record(disabled ? .userDisabled : .userEnabled, by: actor, user.email, in: txn)
        }
    }

    public func endSessions(userID: UInt64, by actor: AuditActor) throws {
        try database.environment.write { txn in
            guard let user = try database.users.get(txn, userID) else { throw UserError.notFound }
            try Sessions.endAll(of: userID, keeping: nil, database: database, in: txn)
            try audit.record(.userSessionsEnded, by: actor, user.email, in: txn)
        }
    }

    /// The last active admin may not be demoted or disabled: nobody could manage users then.
    private func keepAnAdmin(besides userID: UInt64, in txn: WriteTransaction) throws {
        let others = try database.users.entries(txn).contains { $0.key != userID && $0.value.isAdmin && !$0.value.isDisabled }
        guard others else { throw TeamError.lastAdmin }
    }

    private func checkOperators(_ ids: [UInt64], in txn: WriteTransaction) throws {
        for id in ids {
            guard let user = try database.users.get(txn, id), user.role == .operator else { throw TeamError.notAnOperator(id) }
        }
    }
}

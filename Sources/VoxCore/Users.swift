import CryptoPrimitives
import Foundation
import KVStore

public enum UserError: Error, Equatable, CustomStringConvertible {
    case invalidEmail
    case emailTaken
    case weakPassword(String)
    /// The panel's password rules refused it (`PasswordPolicy`).
    case rejectedPassword(PasswordPolicy.Problem)
    case wrongCurrentPassword
    case unknownTimeZone(String)
    case notFound

    public var description: String {
        switch self {
        case .invalidEmail: "that does not look like an email address"
        case .emailTaken: "a user with that email already exists"
        case let .weakPassword(reason): "password too weak: \(reason)"
        case let .rejectedPassword(problem): "password too weak: \(problem)"
        case .wrongCurrentPassword: "the current password is not right"
        case let .unknownTimeZone(zone): "unknown time zone '\(zone)'"
        case .notFound: "no such user"
        }
    }
}

/// Creating users and checking passwords.
public struct Users: Sendable {
    let database: Database
    let hasher: PasswordHasher
    let clock: any Clock
    let audit: AuditLog

    public init(database: Database, hasher: PasswordHasher = .standard, clock: any Clock = SystemClock()) {
        self.database = database
        self.hasher = hasher
        self.clock = clock
        audit = AuditLog(database: database, clock: clock)
    }

    public static func normalize(email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// A random password a person can type: 20 characters from an unambiguous alphabet
    /// (about 112 bits).
    public static func generatePassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var result = ""
        while result.count < 20 {
            for byte in Random.bytes(32) where Int(byte) < 256 - 256 % alphabet.count && result.count < 20 {
                result.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return result
    }

    /// A plausible address: one `@`, a dot in the domain, no spaces, RFC 5321's length.
    public static func validate(email: String) throws {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(where: \.isWhitespace),
              email.count <= 254 else { throw UserError.invalidEmail }
    }

    /// A user with a password, as the command line makes one (`by` says who, for the audit log).
    public func create(email rawEmail: String, role: Role, password: String, timeZone: String = "UTC",
                       by actor: AuditActor = .commandLine) throws -> User {
        let email = Users.normalize(email: rawEmail)
        try Users.validate(email: email)
        guard password.count >= 10 else { throw UserError.weakPassword("use at least 10 characters") }
        guard TimeZone(identifier: timeZone) != nil else { throw UserError.unknownTimeZone(timeZone) }
        // Hash outside the write: it takes ~100 ms and must not hold the writer thread.
        let hash = try hasher.hash(password)
        let now = clock.now()
        return try database.environment.write { txn in
            guard try database.usersByEmail.get(txn, email) == nil else { throw UserError.emailTaken }
            let user = User(
                id: try database.nextID("users", in: txn), email: email, role: role, passwordHash: hash,
                timeZone: timeZone, createdAt: now)
            try database.users.put(txn, user.id, user)
            try database.usersByEmail.put(txn, email, user.id)
            try audit.record(.userCreated, by: actor, "\(email) as \(role.rawValue)", in: txn)
            return user
        }
    }

    /// Sets a new password and ends every session of the user but `keeping` (the session of
    /// whoever changed it, if they are that user): whoever knew the old password is signed out.
    public func setPassword(email rawEmail: String, password: String, keeping: [UInt8]? = nil,
                            by actor: AuditActor = .commandLine) throws {
        guard password.count >= 10 else { throw UserError.weakPassword("use at least 10 characters") }
        let hash = try hasher.hash(password)
        let email = Users.normalize(email: rawEmail)
        try database.environment.write { txn in
            guard let id = try database.usersByEmail.get(txn, email), var user = try database.users.get(txn, id) else {
                throw UserError.notFound
            }
            user.passwordHash = hash
            try database.users.put(txn, id, user)
            try Sessions.endAll(of: id, keeping: keeping, database: database, in: txn)
            try audit.record(.passwordSet, by: actor, email, in: txn)
        }
    }

    /// Disables or enables a user. Disabling ends their sessions in the same transaction.
    public func setDisabled(email rawEmail: String, _ disabled: Bool, by actor: AuditActor = .commandLine) throws {
        let email = Users.normalize(email: rawEmail)
        try database.environment.write { txn in
            guard let id = try database.usersByEmail.get(txn, email), var user = try database.users.get(txn, id) else {
                throw UserError.notFound
            }
            user.disabled = disabled ? true : nil
            try database.users.put(txn, id, user)
            if disabled { try Sessions.endAll(of: id, keeping: nil, database: database, in: txn) }
            try audit.record(disabled ? .userDisabled : .userEnabled, by: actor, email, in: txn)
        }
    }

    /// A successful sign-in: when (for the Team page) and the audit line, in one commit.
    public func recordSignIn(_ user: User, address: String) throws {
        try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id) else { return }
            stored.lastSignInAt = clock.now()
            try database.users.put(txn, user.id, stored)
            try audit.record(.signIn, by: AuditActor(user, address: address), "", in: txn)
        }
    }

    /// The profile's password change: the current password first, the policy for the new one;
    /// every other session of the user ends (`keeping` is this one's key).
    public func changePassword(of user: User, current: String, new password: String, keeping: [UInt8]?, address: String) throws {
        guard let stored = try find(id: user.id), hasher.verify(current, against: stored.passwordHash) else {
            throw UserError.wrongCurrentPassword
        }
        if let problem = PasswordPolicy.problem(with: password, email: user.email) { throw UserError.rejectedPassword(problem) }
        let hash = try hasher.hash(password)
        try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id) else { throw UserError.notFound }
            stored.passwordHash = hash
            try database.users.put(txn, user.id, stored)
            try Sessions.endAll(of: user.id, keeping: keeping, database: database, in: txn)
            try audit.record(.passwordChanged, by: AuditActor(user, address: address),
                                                                  "other sessions ended", in: txn)
        }
    }

    /// Time zone and language ("en", "ru", or nil for the browser's).
    public func setProfile(of user: User, timeZone: String, language: String?, address: String) throws {
        guard TimeZone(identifier: timeZone) != nil else { throw UserError.unknownTimeZone(timeZone) }
        try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id) else { throw UserError.notFound }
            stored.timeZone = timeZone
            stored.language = language
            try database.users.put(txn, user.id, stored)
            try audit.record(.profileChanged, by: AuditActor(user, address: address),
                                                                  "time zone \(timeZone), language \(language ?? "browser's")", in: txn)
        }
    }

    public func count() throws -> Int {
        try database.environment.read { txn in try database.users.count(txn) }
    }

    public func find(id: UInt64) throws -> User? {
        try database.environment.read { txn in try database.users.get(txn, id) }
    }

    public func find(email: String) throws -> User? {
        try database.environment.read { txn in
            try database.usersByEmail.get(txn, Users.normalize(email: email)).flatMap { try database.users.get(txn, $0) }
        }
    }

    public func all() throws -> [User] {
        try database.environment.read { txn in try database.users.entries(txn).map(\.value) }
    }

    /// The user if the password matches. Spends the same time whether or not the email exists.
    public func verify(email: String, password: String) throws -> User? {
        guard let user = try find(email: email), user.hasPassword else {
            hasher.verifyNothing(password)
            return nil
        }
        // A disabled user's password is still checked, so that the time says nothing.
        return hasher.verify(password, against: user.passwordHash) && !user.isDisabled ? user : nil
    }
}

import CryptoPrimitives
import Essentials
import Foundation
import KVStore

/// A sign-in that passed the password and waits for the second factor. The browser holds a
/// random token (cookie); the table only its SHA-256.
public struct PendingSignIn: Codable, Sendable, Equatable {
    public var userID: UInt64
    public var expiresAt: Date
}

/// Team-wide rules an admin sets on the Team page (one record, id 1).
public struct TeamSettings: Codable, Sendable, Equatable {
    public static let recordID: UInt64 = 1
    /// Admins must enrol two-factor sign-in before they can use the panel.
    public var requireAdminTwoFactor = false
    public init() {}
}

public enum TwoFactorError: Error, Equatable, CustomStringConvertible {
    case wrongCode
    case notEnrolling
    case enrolFirst

    public var description: String {
        switch self {
        case .wrongCode: "that code is not right (or was already used); use the current one from your app, or a recovery code"
        case .notEnrolling: "start setting up two-factor sign-in first"
        case .enrolFirst: "set up two-factor sign-in for yourself first (Profile): the rule would otherwise lock you out"
        }
    }
}

/// Two-factor sign-in: TOTP (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step) enrolled with a QR
/// code and confirmed by one code, plus ten single-use recovery codes stored hashed. The
/// secret is sealed by the vault. Each change writes its audit line in its transaction.
public struct TwoFactor: Sendable {
    let database: Database
    let vault: Vault
    let clock: any Clock
    let audit: AuditLog

    public static let issuer = "VoxFCGI"
    public static let recoveryCodeCount = 10
    /// How long the code form waits after the password was accepted.
    public static let pendingLifetime: TimeInterval = 300

    public init(database: Database, vault: Vault, clock: any Clock = SystemClock()) {
        self.database = database
        self.vault = vault
        self.clock = clock
        audit = AuditLog(database: database, clock: clock)
    }

    public struct Enrolment: Sendable {
        /// Base32, for typing into an app.
        public let secret: String
        /// `otpauth://totp/…`, for the QR code.
        public let uri: String
    }

    /// A new secret (20 random bytes, RFC 4226's recommended length), kept pending until confirmed.
    public func startEnrolment(of user: User) throws -> Enrolment {
        let secret = Random.bytes(20)
        let text = Base32.encode(secret)
        try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id) else { throw UserError.notFound }
            stored.totpPendingSealed = try vault.seal(text, as: .userTOTPPending, of: user.id)
            try database.users.put(txn, user.id, stored)
        }
        return Enrolment(secret: text, uri: TwoFactor.uri(secret: text, email: user.email))
    }

    /// The enrolment in progress, to show its QR code again.
    public func pendingEnrolment(of user: User) throws -> Enrolment? {
        guard let sealed = try database.environment.read({ txn in try database.users.get(txn, user.id) })?.totpPendingSealed else { return nil }
        let text = try vault.open(sealed, as: .userTOTPPending, of: user.id)
        return Enrolment(secret: text, uri: TwoFactor.uri(secret: text, email: user.email))
    }

    static func uri(secret: String, email: String) -> String {
        let label = PercentEncoding.encode("\(issuer):\(email)")
        return "otpauth://totp/\(label)?secret=\(secret)&issuer=\(issuer)&algorithm=SHA1&digits=6&period=30"
    }

    /// A code from the app confirms the pending secret: two-factor sign-in is on, and the ten
    /// recovery codes (shown once) are returned.
    public func confirm(_ user: User, code: String, by actor: AuditActor) throws -> [String] {
        let now = UInt64(max(0, clock.now().timeIntervalSince1970))
        let codes = (0..<TwoFactor.recoveryCodeCount).map { _ in TwoFactor.newRecoveryCode() }
        try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id), let pending = stored.totpPendingSealed else {
                throw TwoFactorError.notEnrolling
            }
            let text = try vault.open(pending, as: .userTOTPPending, of: user.id)
            guard let secret = Base32.decode(text), let step = TOTP.matchingStep(code, secret: secret, unixTime: now) else {
                throw TwoFactorError.wrongCode
            }
            stored.totpSecretSealed = try vault.seal(text, as: .userTOTPSecret, of: user.id)
            stored.totpPendingSealed = nil
            stored.totpLastStep = step
            stored.recoveryCodeHashes = codes.map(TwoFactor.hash)
            try database.users.put(txn, user.id, stored)
            try audit.record(.twoFactorEnabled, by: actor, user.email, in: txn)
        }
        return codes
    }

    public func disable(_ user: User, by actor: AuditActor) throws {
        try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id) else { throw UserError.notFound }
            stored.totpSecretSealed = nil
            stored.totpPendingSealed = nil
            stored.totpLastStep = nil
            stored.recoveryCodeHashes = nil
            try database.users.put(txn, user.id, stored)
            try audit.record(.twoFactorDisabled, by: actor, user.email, in: txn)
        }
    }

    /// Checks a TOTP code (a step newer than the last one used) or an unused recovery code,
    /// which is then spent. Returns false for anything else.
    public func verify(_ user: User, code: String) throws -> Bool {
        let now = UInt64(max(0, clock.now().timeIntervalSince1970))
        return try database.environment.write { txn in
            guard var stored = try database.users.get(txn, user.id), let sealed = stored.totpSecretSealed,
                  let secret = Base32.decode(try vault.open(sealed, as: .userTOTPSecret, of: user.id)) else { return false }
            if let step = TOTP.matchingStep(code, secret: secret, unixTime: now) {
                guard step > (stored.totpLastStep ?? 0) else { return false }
                stored.totpLastStep = step
            } else {
                let hash = TwoFactor.hash(code.filter { $0.isLetter || $0.isNumber }.lowercased())
                guard let index = stored.recoveryCodeHashes?.firstIndex(of: hash) else { return false }
                stored.recoveryCodeHashes?.remove(at: index)
            }
            try database.users.put(txn, user.id, stored)
            return true
        }
    }

    /// 10 characters from an unambiguous alphabet, grouped `xxxxx-xxxxx` (about 50 bits).
    static func newRecoveryCode() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var chars: [Character] = []
        while chars.count < 10 {
            for byte in Random.bytes(16) where Int(byte) < 256 - 256 % alphabet.count && chars.count < 10 {
                chars.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return String(chars[0..<5]) + "-" + String(chars[5...])
    }

    static func hash(_ code: String) -> String {
        SHA256.hash(code.filter { $0.isLetter || $0.isNumber }.lowercased()).hexString
    }

    // MARK: The sign-in between password and code

    public func beginSignIn(_ user: User) throws -> String {
        let token = Random.bytes(32).base64URLString
        try database.environment.write { txn in
            try database.pendingSignIns.put(txn, Sessions.key(token),
                                            PendingSignIn(userID: user.id, expiresAt: clock.now() + TwoFactor.pendingLifetime))
        }
        return token
    }

    public func pendingSignIn(_ token: String) throws -> User? {
        guard Sessions.isPlausible(token) else { return nil }
        return try database.environment.read { txn in
            guard let pending = try database.pendingSignIns.get(txn, Sessions.key(token)), pending.expiresAt > clock.now(),
                  let user = try database.users.get(txn, pending.userID), !user.isDisabled else { return nil }
            return user
        }
    }

    public func endSignIn(_ token: String) throws {
        try database.environment.write { txn in _ = try database.pendingSignIns.delete(txn, Sessions.key(token)) }
    }

    // MARK: The admin rule

    public func settings() throws -> TeamSettings {
        try database.environment.read { txn in try database.teamSettings.get(txn, TeamSettings.recordID) } ?? TeamSettings()
    }

    /// Only an admin who uses two-factor sign-in may require it of admins.
    public func setRequireAdminTwoFactor(_ on: Bool, by admin: User, address: String) throws {
        let actor = AuditActor(admin, address: address)
        try database.environment.write { txn in
            if on, try database.users.get(txn, admin.id)?.hasTwoFactor != true { throw TwoFactorError.enrolFirst }
            var settings = try database.teamSettings.get(txn, TeamSettings.recordID) ?? TeamSettings()
            settings.requireAdminTwoFactor = on
            try database.teamSettings.put(txn, TeamSettings.recordID, settings)
            try audit.record(.teamSettingsChanged, by: actor, "two-factor sign-in \(on ? "required" : "optional") for admins", in: txn)
        }
    }

    /// Whether `user` must enrol before anything else.
    public func mustEnrol(_ user: User) throws -> Bool {
        guard user.isAdmin, !user.hasTwoFactor else { return false }
        return try settings().requireAdminTwoFactor
    }
}

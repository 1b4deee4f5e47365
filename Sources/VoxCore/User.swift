import Foundation

public enum Role: String, Codable, Sendable, CaseIterable {
    /// Sees every tenant's data and manages users and jobs.
    case admin
    /// Sees and manages only the accounts they own.
    case `operator`
    /// Reads the calls, statistics and recordings of the operators an admin assigns
    /// (`User.watches`); changes nothing.
    case viewer
}

public struct User: Codable, Sendable, Equatable {
    public var id: UInt64
    /// Lower-cased and trimmed: the login name.
    public var email: String
    public var role: Role
    public var passwordHash: String
    /// IANA zone used to show times and interpret date filters.
    public var timeZone: String
    public var createdAt: Date
    /// A disabled user cannot sign in, and their sessions end at once (see `Sessions.resolve`).
    public var disabled: Bool?
    /// For a viewer: whose calls they see (operator ids). Ignored for other roles.
    public var watches: [UInt64]?
    /// "en" or "ru"; nil: the browser's preference.
    public var language: String?
    public var lastSignInAt: Date?
    /// The TOTP secret, sealed (`SealedField.userTOTPSecret`); nil while two-factor sign-in is off.
    public var totpSecretSealed: [UInt8]?
    /// A secret being enrolled, until a code from the app confirms it.
    public var totpPendingSealed: [UInt8]?
    /// The last TOTP step accepted: a code works once.
    public var totpLastStep: UInt64?
    /// SHA-256 (hex) of each unused recovery code.
    public var recoveryCodeHashes: [String]?

    public var isAdmin: Bool { role == .admin }
    public var isViewer: Bool { role == .viewer }
    public var isDisabled: Bool { disabled == true }
    /// Invited and not yet through the link: no password to sign in with.
    public var hasPassword: Bool { !passwordHash.isEmpty }
    public var hasTwoFactor: Bool { totpSecretSealed != nil }
}

public struct Session: Codable, Sendable, Equatable {
    public var userID: UInt64
    public var createdAt: Date
    public var expiresAt: Date
}

public struct LoginFailures: Codable, Sendable, Equatable {
    public var count: Int
    public var firstAt: Date
    public var lastAt: Date
    public var lockedUntil: Date?
}

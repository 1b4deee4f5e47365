import Foundation

public enum Role: String, Codable, Sendable, CaseIterable {
    /// Sees every tenant's data and manages users and jobs.
    case admin
    /// Sees and manages only the accounts they own.
    case `operator`
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

    public var isAdmin: Bool { role == .admin }
    public var isDisabled: Bool { disabled == true }
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

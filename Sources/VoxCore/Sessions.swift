import CryptoPrimitives
import Foundation
import KVStore

/// Server-side sessions. The browser holds a random 256-bit token; the table holds only its
/// SHA-256, so reading the data file does not let anyone sign in.
public struct Sessions: Sendable {
    let database: Database
    let clock: any Clock
    public let lifetime: TimeInterval

    public init(database: Database, lifetime: TimeInterval = 12 * 3600, clock: any Clock = SystemClock()) {
        self.database = database
        self.lifetime = lifetime
        self.clock = clock
    }

    /// Starts a session and returns the token to put in the cookie.
    public func start(for user: User) throws -> (token: String, session: Session) {
        let token = Random.bytes(32).base64URLString
        let now = clock.now()
        let session = Session(userID: user.id, createdAt: now, expiresAt: now + lifetime)
        try database.environment.write { txn in
            try database.sessions.put(txn, Sessions.key(token), session)
        }
        return (token, session)
    }

    /// The live session and its user for a cookie token, or nil (unknown, expired, or the user
    /// is gone). An expired session is deleted on sight.
    public func resolve(token: String) throws -> (session: Session, user: User)? {
        guard !token.isEmpty, token.count < 100 else { return nil }
        let key = Sessions.key(token)
        let found = try database.environment.read { txn -> (Session, User?)? in
            guard let session = try database.sessions.get(txn, key) else { return nil }
            return (session, try database.users.get(txn, session.userID))
        }
        guard let (session, user) = found else { return nil }
        guard let user, !user.isDisabled, session.expiresAt > clock.now() else {
            try end(token: token)
            return nil
        }
        return (session, user)
    }

    public func end(token: String) throws {
        let key = Sessions.key(token)
        try database.environment.write { txn in _ = try database.sessions.delete(txn, key) }
    }

    /// Deletes every expired session; returns how many.
    @discardableResult
    public func purgeExpired() throws -> Int {
        let now = clock.now()
        return try database.environment.write { txn in
            var expired: [[UInt8]] = []
            try database.sessions.scan(txn) { key, session in
                if session.expiresAt <= now { expired.append(key) }
                return true
            }
            for key in expired { try database.sessions.delete(txn, key) }
            return expired.count
        }
    }

    public static func key(_ token: String) -> [UInt8] { SHA256.hash(token) }

    /// Whether `token` can be one of ours (32 random bytes as 43 base64url characters, with
    /// room to spare): anything else is not looked up at all.
    public static func isPlausible(_ token: String) -> Bool { (40...50).contains(token.utf8.count) }

    /// Ends every session of `userID` but `keeping` (a session key), in `txn`. A scan: sessions
    /// are few, and this runs on password changes and disabling, not per request.
    static func endAll(of userID: UInt64, keeping: [UInt8]?, database: Database, in txn: WriteTransaction) throws {
        var ended: [[UInt8]] = []
        try database.sessions.scan(txn) { key, session in
            if session.userID == userID && key != keeping { ended.append(key) }
            return true
        }
        for key in ended { try database.sessions.delete(txn, key) }
    }
}

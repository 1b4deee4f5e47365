import Foundation
import KVStore

/// Slows and then refuses repeated failed logins, per email and per client address.
///
/// After `freeAttempts` failures, each further attempt must wait twice as long as the last
/// (2 s, 4 s, 8 s … up to a minute); at `lockAfter` failures the key is refused for
/// `lockDuration`. Failures older than `window` are forgotten. The counts live in LMDB so they
/// hold across restarts and across worker processes. The address limits are looser: many
/// people can share one address.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var freeAttempts: Int
        public var lockAfter: Int
        public var window: TimeInterval = 15 * 60
        public var lockDuration: TimeInterval = 15 * 60
        public var maxDelay: TimeInterval = 60

        public static let perEmail = Policy(freeAttempts: 3, lockAfter: 10)
        public static let perAddress = Policy(freeAttempts: 10, lockAfter: 50)
    }

    public enum Verdict: Equatable, Sendable {
        case allowed
        /// Try again after this many seconds.
        case slowDown(seconds: Int)
        case locked(until: Date)
    }

    let database: Database
    let clock: any Clock
    public var emailPolicy = Policy.perEmail
    public var addressPolicy = Policy.perAddress

    public init(database: Database, clock: any Clock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    static func keys(email: String, address: String) -> [String] {
        ["email:" + Users.normalize(email: email), "ip:" + address]
    }

    private func policy(for key: String) -> Policy { key.hasPrefix("email:") ? emailPolicy : addressPolicy }

    /// Whether an attempt may be made now. The strictest of the two keys wins.
    public func check(email: String, address: String) throws -> Verdict {
        let now = clock.now()
        let records = try database.environment.read { txn in
            try LoginThrottle.keys(email: email, address: address).map { ($0, try database.loginFailures.get(txn, $0)) }
        }
        var verdict = Verdict.allowed
        for (key, record) in records {
            guard let record, now.timeIntervalSince(record.lastAt) < policy(for: key).window || record.lockedUntil.map({ $0 > now }) == true else { continue }
            if let until = record.lockedUntil, until > now { return .locked(until: until) }
            let policy = policy(for: key)
            let excess = record.count - policy.freeAttempts
            if excess > 0 {
                let delay = min(policy.maxDelay, pow(2, Double(excess)))
                let wait = record.lastAt.addingTimeInterval(delay).timeIntervalSince(now)
                if wait > 0 {
                    let seconds = Int(wait.rounded(.up))
                    if case let .slowDown(current) = verdict, current >= seconds { continue }
                    verdict = .slowDown(seconds: seconds)
                }
            }
        }
        return verdict
    }

    public func recordFailure(email: String, address: String) throws {
        let now = clock.now()
        try database.environment.write { txn in
            for key in LoginThrottle.keys(email: email, address: address) {
                let policy = policy(for: key)
                var record = try database.loginFailures.get(txn, key)
                    .flatMap { now.timeIntervalSince($0.lastAt) < policy.window ? $0 : nil }
                    ?? LoginFailures(count: 0, firstAt: now, lastAt: now, lockedUntil: nil)
                if let until = record.lockedUntil, until <= now {
                    record = LoginFailures(count: 0, firstAt: now, lastAt: now, lockedUntil: nil)
                }
                record.count += 1
                record.lastAt = now
                if record.count >= policy.lockAfter { record.lockedUntil = now + policy.lockDuration }
                try database.loginFailures.put(txn, key, record)
            }
        }
    }

    /// A successful login forgets the failures of that email (not of the address: one good
    /// password must not reset a guesser's budget for other accounts).
    public func recordSuccess(email: String) throws {
        try database.environment.write { txn in
            _ = try database.loginFailures.delete(txn, "email:" + Users.normalize(email: email))
        }
    }
}

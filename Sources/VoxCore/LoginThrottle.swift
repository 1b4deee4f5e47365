import Foundation
import KVStore

/// Slows and then refuses repeated failed sign-ins, without letting an attacker lock the real
/// user out.
///
/// Three counters, each in LMDB (they hold across restarts and worker processes):
/// - per (email, address): after `freeAttempts` failures each attempt waits twice as long as
///   the last (2 s, 4 s … up to a minute), and at `lockAfter` it is refused for 15 minutes.
///   The lock falls on whoever guesses, from where they guess: the real user, elsewhere, is
///   not locked out by it;
/// - per email, from anywhere: only a softer, capped delay, never a lock, so that guessing
///   from many addresses is still slow;
/// - per address, across emails: looser (people share addresses), with a lock.
///
/// An attempt is reserved (counted) in the same transaction that checks it, before the
/// password's KDF runs: parallel guesses cannot all pass the check before any failure is
/// written. A success gives back the reservation of its email.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var freeAttempts: Int
        /// Nil: never locks.
        public var lockAfter: Int?
        public var window: TimeInterval = 15 * 60
        public var lockDuration: TimeInterval = 15 * 60
        public var maxDelay: TimeInterval = 60

        public static let perEmailAndAddress = Policy(freeAttempts: 3, lockAfter: 10)
        public static let perEmail = Policy(freeAttempts: 5, lockAfter: nil, maxDelay: 30)
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
    public var pairPolicy = Policy.perEmailAndAddress
    public var emailPolicy = Policy.perEmail
    public var addressPolicy = Policy.perAddress

    public init(database: Database, clock: any Clock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    private func keys(email: String, address: String) -> [(key: String, policy: Policy)] {
        let email = Users.normalize(email: email)
        return [("pair:" + email + "|" + address, pairPolicy), ("email:" + email, emailPolicy), ("ip:" + address, addressPolicy)]
    }

    /// Whether an attempt may be made now (the strictest counter wins), and if so, counts it as
    /// a failure until `succeeded` says otherwise.
    public func reserve(email: String, address: String) throws -> Verdict {
        let now = clock.now()
        let keys = keys(email: email, address: address)
        return try database.environment.write { txn in
            var records: [(key: String, policy: Policy, record: LoginFailures?)] = []
            for (key, policy) in keys {
                records.append((key, policy, try database.loginFailures.get(txn, key).flatMap { LoginThrottle.current($0, policy, now) }))
            }
            let verdict = LoginThrottle.verdict(records.map { ($0.policy, $0.record) }, now: now)
            guard verdict == .allowed else { return verdict }
            for (key, policy, record) in records {
                var record = record ?? LoginFailures(count: 0, firstAt: now, lastAt: now, lockedUntil: nil)
                record.count += 1
                record.lastAt = now
                if let lockAfter = policy.lockAfter, record.count >= lockAfter { record.lockedUntil = now + policy.lockDuration }
                try database.loginFailures.put(txn, key, record)
            }
            return .allowed
        }
    }

    /// The password was right: the email's counters are cleared (from anywhere), the address's
    /// are not (one good password must not reset a guesser's budget for other accounts).
    public func succeeded(email: String, address: String) throws {
        let keys = keys(email: email, address: address)
        try database.environment.write { txn in
            for (key, _) in keys.prefix(2) { _ = try database.loginFailures.delete(txn, key) }
        }
    }

    /// Removes counters whose window and lock are over: without this the table grows with
    /// every address and email anyone ever tried.
    @discardableResult
    public func purgeExpired() throws -> Int {
        let now = clock.now()
        let longest = max(pairPolicy.window, emailPolicy.window, addressPolicy.window)
        return try database.environment.write { txn in
            var expired: [String] = []
            try database.loginFailures.scan(txn) { key, record in
                if now.timeIntervalSince(record.lastAt) >= longest && record.lockedUntil.map({ $0 <= now }) ?? true { expired.append(key) }
                return true
            }
            for key in expired { try database.loginFailures.delete(txn, key) }
            return expired.count
        }
    }

    /// The record as it counts now: nil once its window passed without a lock, or its lock ended.
    static func current(_ record: LoginFailures, _ policy: Policy, _ now: Date) -> LoginFailures? {
        if let until = record.lockedUntil { return until > now ? record : nil }
        return now.timeIntervalSince(record.lastAt) < policy.window ? record : nil
    }

    static func verdict(_ records: [(Policy, LoginFailures?)], now: Date) -> Verdict {
        var verdict = Verdict.allowed
        for case let (policy, record?) in records {
            if let until = record.lockedUntil, until > now { return .locked(until: until) }
            let excess = record.count - policy.freeAttempts
            guard excess > 0 else { continue }
            let delay = min(policy.maxDelay, pow(2, Double(min(excess, 30))))
            let wait = record.lastAt.addingTimeInterval(delay).timeIntervalSince(now)
            guard wait > 0 else { continue }
            let seconds = Int(wait.rounded(.up))
            if case let .slowDown(current) = verdict, current >= seconds { continue }
            verdict = .slowDown(seconds: seconds)
        }
        return verdict
    }
}

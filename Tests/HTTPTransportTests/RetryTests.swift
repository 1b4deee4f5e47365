import Essentials
import Foundation
@testable import HTTPTransport
import Testing

@Suite struct RateLimiterTests {
    @Test func spacesRequestsPastTheBurst() {
        let limiter = RateLimiter(ratePerSecond: 10, burst: 2)
        let started = Date()
        for _ in 0..<5 { limiter.acquire(key: "a", sleep: { Thread.sleep(forTimeInterval: $0) }) }
        let elapsed = Date().timeIntervalSince(started)
        // 2 at once, then 3 more at 10/s: about 0.3 s.
        #expect(elapsed >= 0.25 && elapsed < 1.0)
        // Another key has its own bucket.
        let other = Date()
        limiter.acquire(key: "b", sleep: { Thread.sleep(forTimeInterval: $0) })
        #expect(Date().timeIntervalSince(other) < 0.05)
    }

    @Test func retryAfterAsDate() {
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: 1, maxDelay: 60)
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        #expect(policy.delay(attempt: 1, retryAfter: formatter.string(from: now + 7), now: now) == 7)
        #expect(policy.delay(attempt: 1, retryAfter: "120", now: now) == 60)
    }
}

@Suite struct BackoffTests {
    @Test func doublesUpToTheLimitWithJitter() {
        let backoff = Backoff(base: 1, limit: 8)
        #expect([1, 2, 3, 4, 5, 0].map(backoff.step) == [1, 2, 4, 8, 8, 1])
        for attempt in 1...6 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= backoff.step(attempt: attempt) / 2 && delay <= backoff.step(attempt: attempt))
        }
        // A huge attempt count stays finite (the exponent is clamped), and at the limit.
        #expect(backoff.step(attempt: Int.max) == 8)
    }
}

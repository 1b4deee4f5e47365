import Foundation

/// Exponential backoff with jitter: attempt 1 waits about `base`, each further attempt twice
/// as long, never more than `limit`; the wait is drawn between half and all of the step, so
/// clients that failed together do not retry together ("equal jitter", AWS Architecture Blog,
/// "Exponential Backoff And Jitter", 2015). HTTP retries and the job queue both use it.
public struct Backoff: Sendable, Equatable {
    public var base: TimeInterval
    public var limit: TimeInterval

    public init(base: TimeInterval, limit: TimeInterval) {
        self.base = base
        self.limit = limit
    }

    /// The step before jitter for the `attempt`-th retry (1-based; 0 and below count as 1).
    public func step(attempt: Int) -> TimeInterval {
        // 2^62 already exceeds any limit; clamping the exponent keeps `pow` finite.
        min(limit, base * pow(2, Double(min(62, max(0, attempt - 1)))))
    }

    /// The wait before the `attempt`-th retry: between half the step and the step.
    public func delay(attempt: Int) -> TimeInterval {
        let step = step(attempt: attempt)
        return step / 2 + Double.random(in: 0...(step / 2))
    }
}

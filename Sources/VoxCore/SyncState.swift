import Foundation

/// Where the call-history sync of one account stands.
public struct SyncState: Codable, Sendable, Equatable {
    /// Start time of the newest call synced so far; the next sync starts a little before it.
    public var checkpoint: Date?
    public var running: Bool
    public var pagesDone: Int
    public var inserted: Int
    public var updated: Int
    public var lastError: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// What the last finished sync found when it compared webhooks with call history.
    public var reconciliation: Reconciliation?

    public init() {
        running = false
        pagesDone = 0
        inserted = 0
        updated = 0
    }
}

/// Calls of one account seen on one side only, for a window of start times that both sides
/// should have covered by the end of a sync: a call that came by webhook but that Voximplant's
/// history does not list (an event from a session history lost, or a forged-but-signed one),
/// and a call in the history that no webhook told us of (a scenario that cannot reach this
/// server, or a Voximplant application not deployed by us, `unlinked`).
public struct Reconciliation: Codable, Sendable, Equatable {
    public var windowStart: Date
    public var windowEnd: Date
    public var webhookOnly: Int
    public var historyOnly: Int
    /// Of `historyOnly`: calls of Voximplant applications that are not ours.
    public var unlinked: Int
    /// Up to `Reconciliation.examples` call ids of each side, newest first, to open.
    public var webhookOnlyCalls: [UInt64]
    public var historyOnlyCalls: [UInt64]
    /// When the newest mismatch started (for "the last hour has mismatches").
    public var newestMismatch: Date?

    public static let examples = 10

    public init(windowStart: Date, windowEnd: Date) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        webhookOnly = 0
        historyOnly = 0
        unlinked = 0
        webhookOnlyCalls = []
        historyOnlyCalls = []
    }

    public var hasMismatches: Bool { webhookOnly + historyOnly > 0 }
}

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

    public init() {
        running = false
        pagesDone = 0
        inserted = 0
        updated = 0
    }
}

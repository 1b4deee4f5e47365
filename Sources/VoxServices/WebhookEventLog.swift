import Foundation

/// The last webhook events of each application, for the Health page: when, what, which
/// session, how it went, and how long after the scenario sent it. In memory, per worker
/// process: it shows what this process received since it started, and costs the ingest path
/// no write. Only authenticated events are kept (an unauthenticated one names an application
/// it may not belong to), so what it holds is bounded by the applications that exist.
public final class WebhookEventLog: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let receivedAt: Date
        public let type: String
        public let sessionID: UInt64
        public let outcome: String
        /// Received minus the event's `sent_at`; nil when the sender's clock put it in the future.
        public let delay: TimeInterval?
    }

    public static let perApplication = 200
    private let lock = NSLock()
    private var rings: [UInt64: Ring] = [:]

    public init() {}

    public func record(applicationID: UInt64, type: String, sessionID: UInt64, sentAtMillis: Int64, outcome: String,
                       at now: Date = Date()) {
        let sent = Date(timeIntervalSince1970: Double(sentAtMillis) / 1000)
        let delay = now.timeIntervalSince(sent)
        let entry = Entry(receivedAt: now, type: type, sessionID: sessionID, outcome: outcome, delay: delay >= 0 ? delay : nil)
        lock.lock()
        defer { lock.unlock() }
        rings[applicationID, default: Ring()].append(entry)
    }

    /// Newest first.
    public func recent(applicationID: UInt64) -> [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return rings[applicationID]?.newestFirst ?? []
    }

    private struct Ring {
        var entries: [Entry] = []
        var next = 0

        mutating func append(_ entry: Entry) {
            if entries.count < WebhookEventLog.perApplication {
                entries.append(entry)
            } else {
                entries[next] = entry
                next = (next + 1) % WebhookEventLog.perApplication
            }
        }

        var newestFirst: [Entry] {
            guard entries.count == WebhookEventLog.perApplication else { return entries.reversed() }
            return (entries[next...] + entries[..<next]).reversed()
        }
    }
}

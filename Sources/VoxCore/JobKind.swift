import Foundation

/// What a job does: the name its handler is registered under and the name stored in the job
/// record. Every kind the product uses is listed here, once; a test may make its own from a
/// string literal.
public struct JobKind: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    /// Payload: the call id. Fetches the call's conversation from ElevenLabs until it is final.
    public static let fetchTranscript: JobKind = "fetch-transcript"
    /// Payload: the call id. Downloads the recording from its source and archives it.
    public static let archiveRecording: JobKind = "archive-recording"
    /// Payload: JSON `{"store": …, "key": …}`. Deletes an object whose call no longer points at it.
    public static let deleteRecording: JobKind = "delete-recording"
    /// Payload: the account id. Pulls the account's call history from Voximplant.
    public static let syncAccount: JobKind = "sync-account"
    /// Payload: the call id. Fetches that one call's session from Voximplant's history right
    /// after it ended: its cost, talk time and recording, without waiting for the next sync.
    public static let fetchSession: JobKind = "fetch-session"
    /// Payload: JSON `{"call": …, "url": …}`. Deletes Voximplant's copy of the call's recording once it is
    /// archived here (applications with "delete Voximplant's copy").
    public static let deleteVoximplantRecording: JobKind = "delete-voximplant-recording"
    /// Payload: the call id. Deletes the call's ElevenLabs conversation after retention removed
    /// its recording (applications with "delete the ElevenLabs conversation").
    public static let deleteConversation: JobKind = "delete-conversation"
    /// Payload: "scheduled" or who asked. Takes a backup in a child process (see `BackupJob`).
    public static let backup: JobKind = "backup"

    /// Each of the above, for what lists them all (metrics show a zero for an empty queue).
    public static let all: [JobKind] = [.fetchTranscript, .archiveRecording, .deleteRecording, .syncAccount, .fetchSession,
                                        .deleteVoximplantRecording, .deleteConversation, .backup]
}

/// Wakes the job runner when a commit made a job due, so it looks now instead of at its next
/// poll. One per database: whichever `JobQueue` value enqueued, the runner of that database
/// hears it. (This replaces a late-bound reference to the runner, which had to be attached
/// after the services that enqueue were built.)
public final class JobSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation: UInt64 = 0

    public init() {}

    /// Something changed: every waiter returns.
    public func raise() {
        condition.lock()
        generation &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The count of raises so far, to pass to `wait(since:until:)`.
    public var current: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    /// Waits until a raise after `seen`, or `deadline`.
    public func wait(since seen: UInt64, until deadline: Date) {
        condition.lock()
        while generation == seen && Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }
}

import Foundation
import KVStore

/// Where recordings are archived, as the operator set it on the Setup page. One record.
///
/// The S3 secret key and session token are sealed by the vault (AAD binds them to this
/// record), like every other credential; the rest is plain configuration.
public struct StorageSettings: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case local, s3
    }

    public static let recordID: UInt64 = 1

    public var kind: Kind = .local
    public var s3Endpoint = ""
    public var s3Region = "us-east-1"
    public var s3Bucket = ""
    /// The raw value of ObjectStore's `S3Configuration.Addressing` ("path" or "virtual-host"):
    /// the domain does not import the store, so the stored text is converted there.
    public var s3Addressing = "path"
    public var s3AccessKeyID = ""
    public var s3SecretSealed: [UInt8]?
    public var s3SessionTokenSealed: [UInt8]?
    /// Recordings of calls older than this many days are deleted; 0 keeps them forever.
    public var retentionDays = 0
    public var updatedAt: Date?

    public init() {}

    /// Calls that started before this have no recording kept; nil while kept forever.
    public func retentionCutoff(now: Date) -> Date? {
        retentionDays > 0 ? now.addingTimeInterval(-Double(retentionDays) * 86_400) : nil
    }

    /// Where each sealed field is bound in the vault.
    public static let secretPlace = SealedField.s3SecretKey.place(recordID)
    public static let sessionTokenPlace = SealedField.s3SessionToken.place(recordID)
}

/// The recording jobs' enqueueing rule, shared by the events, the sync and the webhooks.
public enum RecordingJobs {
    /// Enqueues the archive job of a call, once (a second enqueue while one waits is a no-op).
    public static func enqueueArchive(callID: UInt64, jobs: JobQueue, in txn: WriteTransaction) throws {
        try jobs.enqueue(kind: .archiveRecording, payload: String(callID), dedupeKey: "recording:\(callID)", in: txn)
    }

    /// Voximplant's copy goes only after ours is committed: the job is enqueued in the
    /// transaction that records the archived recording.
    public static func enqueueVoximplantDeletion(callID: UInt64, recordingURL: String, jobs: JobQueue, in txn: WriteTransaction) throws {
        let payload = String(decoding: try JSONEncoder().encode(VoximplantDeletion(call: callID, url: recordingURL)), as: UTF8.self)
        try jobs.enqueue(kind: .deleteVoximplantRecording, payload: payload, dedupeKey: "vox-recording:\(callID)", in: txn)
    }

    /// The delete-voximplant-recording payload: the call and the recording URL that was archived.
    public struct VoximplantDeletion: Codable, Sendable {
        public let call: UInt64
        public let url: String
    }

    public static func enqueueConversationDeletion(callID: UInt64, jobs: JobQueue, in txn: WriteTransaction) throws {
        try jobs.enqueue(kind: .deleteConversation, payload: String(callID), dedupeKey: "conversation:\(callID)", in: txn)
    }
}

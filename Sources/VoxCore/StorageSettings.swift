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
    /// "path" or "virtual-host".
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
    public static let secretPlace = Vault.Place("storage_settings", recordID, "s3_secret")
    public static let sessionTokenPlace = Vault.Place("storage_settings", recordID, "s3_session_token")
}

/// The jobs of the recordings pipeline, named where the events that cause them are applied.
public enum RecordingJobs {
    /// Payload: the call id. Downloads the recording from its source and archives it.
    public static let archive = "archive-recording"
    /// Payload: JSON `{"store": …, "key": …}`. Deletes an object whose call no longer points at it.
    public static let deleteObject = "delete-recording"

    /// Enqueues the archive job of a call, once (a second enqueue while one waits is a no-op).
    public static func enqueueArchive(callID: UInt64, jobs: JobQueue, in txn: WriteTransaction) throws {
        try jobs.enqueue(kind: archive, payload: String(callID), dedupeKey: "recording:\(callID)", in: txn)
    }
}

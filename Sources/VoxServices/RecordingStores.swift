import Foundation
import HTTPTransport
import Logging
import ObjectStore
import VoxCore

/// The object stores recordings live in: local disk always (the default, and where older
/// recordings stay), S3 when the operator configured it on the Setup page.
///
/// The S3 store is rebuilt when the stored settings change, so a save on the Setup page (or
/// by another process on the same data) takes effect on the next job without a restart.
public final class RecordingStores: @unchecked Sendable {
    public let local: LocalDiskStore
    let database: Database
    let vault: Vault
    let s3Timeout: TimeInterval
    let logger: Logger
    private let lock = NSLock()
    private var cached: (settings: StorageSettings, store: S3Store)?

    public init(root: String, database: Database, vault: Vault, s3Timeout: TimeInterval = 120, logger: Logger) throws {
        local = try LocalDiskStore(root: root)
        self.database = database
        self.vault = vault
        self.s3Timeout = s3Timeout
        self.logger = logger
    }

    /// Downloads in progress: the local store's own temporary folder, so that one clean-up at
    /// start serves both.
    public var temporaryDirectory: String { local.temporaryDirectory }

    public func settings() throws -> StorageSettings {
        try database.environment.read { txn in try database.storageSettings.get(txn, StorageSettings.recordID) } ?? StorageSettings()
    }

    /// Where new recordings go, and the name their `RecordingRef` records.
    public func current() throws -> (name: String, store: any ObjectStore) {
        let settings = try settings()
        switch settings.kind {
        case .local: return (RecordingRef.localStore, local)
        case .s3: return (RecordingRef.s3Store, try s3(settings))
        }
    }

    /// The store a recording names; nil when that store is no longer configured.
    public func store(named name: String) throws -> (any ObjectStore)? {
        switch name {
        case RecordingRef.localStore: return local
        case RecordingRef.s3Store:
            let settings = try settings()
            return settings.s3Bucket.isEmpty || settings.s3SecretSealed == nil ? nil : try s3(settings)
        default: return nil
        }
    }

    func s3(_ settings: StorageSettings) throws -> S3Store {
        lock.lock()
        defer { lock.unlock() }
        if let cached, cached.settings == settings { return cached.store }
        let store = try RecordingStores.makeS3(settings, vault: vault, timeout: s3Timeout, logger: logger)
        cached = (settings, store)
        return store
    }

    /// An S3 store for `settings` (also for "Test" on the Setup page, before saving).
    public static func makeS3(_ settings: StorageSettings, vault: Vault, timeout: TimeInterval, logger: Logger,
                       retry: RetryPolicy = RetryPolicy()) throws -> S3Store {
        guard let sealed = settings.s3SecretSealed else { throw ObjectStoreError.refused(status: 0, code: "NoSecret", message: "no secret key saved") }
        let credentials = AWSCredentials(
            accessKeyID: settings.s3AccessKeyID, secretAccessKey: try vault.open(sealed, as: .s3SecretKey, of: StorageSettings.recordID),
            sessionToken: try settings.s3SessionTokenSealed.map { try vault.open($0, as: .s3SessionToken, of: StorageSettings.recordID) })
        var configuration = S3Configuration(endpoint: settings.s3Endpoint, region: settings.s3Region, bucket: settings.s3Bucket,
                                            addressing: S3Configuration.Addressing(rawValue: settings.s3Addressing) ?? .path,
                                            accessKeyID: settings.s3AccessKeyID)
        configuration.requestTimeout = timeout
        return S3Store(configuration: configuration, credentials: credentials, retry: retry, logger: logger)
    }
}

import Foundation
import HTTPTransport
import Logging
import ObjectStore
import VoxCore

/// Setup › Recording storage, without the form: what is saved, saving a change (secrets sealed
/// here, never stored as typed), and a round-trip test of a store before it is saved.
public struct StorageConfiguration: Sendable {
    let database: Database
    let vault: Vault
    let stores: RecordingStores
    let clock: any Clock

    public init(database: Database, vault: Vault, stores: RecordingStores, clock: any Clock) {
        self.database = database
        self.vault = vault
        self.stores = stores
        self.clock = clock
    }

    /// What the operator typed; empty secrets keep the saved ones.
    public struct Change: Sendable {
        public var kind: StorageSettings.Kind
        public var s3: S3Configuration
        public var retentionDays: Int
        public var secret: String
        public var sessionToken: String
        public var clearSessionToken: Bool

        public init(kind: StorageSettings.Kind, s3: S3Configuration, retentionDays: Int, secret: String, sessionToken: String,
                    clearSessionToken: Bool) {
            self.kind = kind
            self.s3 = s3
            self.retentionDays = retentionDays
            self.secret = secret
            self.sessionToken = sessionToken
            self.clearSessionToken = clearSessionToken
        }
    }

    public func saved() throws -> StorageSettings { try stores.settings() }

    /// Where the local store keeps its objects (shown on the page).
    public var localRoot: String { stores.local.root }

    /// The settings `change` makes from the saved ones, secrets sealed; not stored.
    public func settings(applying change: Change) throws -> StorageSettings {
        var settings = try saved()
        settings.kind = change.kind
        settings.retentionDays = change.retentionDays
        settings.updatedAt = clock.now()
        guard change.kind == .s3 || !change.s3.endpoint.isEmpty else { return settings }
        settings.s3Endpoint = change.s3.endpoint
        settings.s3Region = change.s3.region
        settings.s3Bucket = change.s3.bucket
        settings.s3Addressing = change.s3.addressing.rawValue
        settings.s3AccessKeyID = change.s3.accessKeyID
        if !change.secret.isEmpty { settings.s3SecretSealed = try vault.seal(change.secret, as: .s3SecretKey, of: StorageSettings.recordID) }
        if !change.sessionToken.isEmpty {
            settings.s3SessionTokenSealed = try vault.seal(change.sessionToken, as: .s3SessionToken, of: StorageSettings.recordID)
        } else if change.clearSessionToken {
            settings.s3SessionTokenSealed = nil
        }
        return settings
    }

    /// Applies `change` and stores the result; new recordings go where it says from the next job.
    @discardableResult
    public func save(_ change: Change, by actor: AuditActor = .commandLine) throws -> StorageSettings {
        let settings = try settings(applying: change)
        try database.environment.write { txn in
            try database.storageSettings.put(txn, StorageSettings.recordID, settings)
            // What, where and how long; the secret key and session token are never named.
            try AuditLog(database: database, clock: clock).record(
                .storageChanged, by: actor,
                "\(settings.kind == .s3 ? "S3 \(settings.s3Endpoint) bucket \(settings.s3Bucket)" : "local disk"), "
                    + "retention \(settings.retentionDays == 0 ? "forever" : "\(settings.retentionDays) days")", in: txn)
        }
        return settings
    }

    /// Writes, reads back and deletes a small object in the store `change` describes (saved or
    /// not). Returns the store's label; throws `ObjectStoreError` with what went wrong.
    public func test(_ change: Change, logger: Logger) throws -> String {
        let store: any ObjectStore
        if change.kind == .s3 {
            store = try RecordingStores.makeS3(try settings(applying: change), vault: vault, timeout: 15, logger: logger,
                                               retry: .init(maxAttempts: 1))
        } else {
            store = stores.local
        }
        try StorageConfiguration.probe(store, temporaryDirectory: stores.temporaryDirectory)
        return store.label
    }

    static func probe(_ store: any ObjectStore, temporaryDirectory: String) throws {
        let file = temporaryDirectory + "/probe-\(UUID().uuidString)"
        let marker = "voxfcgi storage test \(Date())"
        guard FileManager.default.createFile(atPath: file, contents: Data(marker.utf8)) else {
            throw ObjectStoreError.io("cannot write \(file)")
        }
        defer { unlink(file) }
        let key = try ObjectKey("voxfcgi-probe/\(UUID().uuidString).txt")
        try store.put(key, fromFile: file, contentType: "text/plain")
        defer { try? store.delete(key) }
        try store.get(key, toFile: file + ".back")
        defer { unlink(file + ".back") }
        guard (try? String(contentsOfFile: file + ".back", encoding: .utf8)) == marker else {
            throw ObjectStoreError.io("the test object read back differently")
        }
    }
}

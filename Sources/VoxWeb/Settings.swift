import Foundation
import Integrations

public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Every setting of the worker, read from the environment once at start. The README lists
/// them; keep the two in step.
public struct Settings: Sendable {
    public var dataDirectory: String
    public var socketPath: String
    public var socketMode: mode_t
    public var tcpAddress: String?
    public var threads: Int
    public var maxBodyBytes: Int
    public var mapSizeMB: Int
    public var sessionHours: Double
    public var masterKeyFile: String
    public var masterKey: String?
    public var logLevel: String
    public var templateDirectory: String?
    /// Where browsers and Voximplant reach this server; the scenario posts events here.
    public var publicURL: String
    public var voximplantURL: String
    public var elevenLabsURL: String
    /// A call with no end event after this long is closed as failed.
    public var liveCallTimeoutMinutes: Double
    /// How often every active account's call history is synced.
    public var syncMinutes: Double
    /// How far back the first sync of a new account reaches.
    public var backfillDays: Double
    /// Total time allowed for one upstream request.
    public var upstreamTimeoutSeconds: Double
    /// How long a claimed job is reserved before another runner may take it (a crashed
    /// worker's jobs come back after this).
    public var jobLeaseSeconds: Double
    /// Total time allowed for one S3 request (one part of an upload) before it is retried.
    public var s3TimeoutSeconds: Double
    /// How often retention looks for recordings to delete.
    public var retentionSweepMinutes: Double
    /// Origins recording URLs may point at (`OriginAllowList`), comma-separated.
    public var recordingSources: String
    /// The largest recording downloaded, in MiB.
    public var downloadMaxMB: Int
    /// A download slower than this many bytes a second for `downloadLowSpeedSeconds` is abandoned.
    public var downloadLowSpeedBytes: Int
    public var downloadLowSpeedSeconds: Int
    /// Parked jobs older than this are discarded.
    public var parkedJobRetentionDays: Double
    /// Transcripts that no call claimed within this are deleted.
    public var orphanTranscriptRetentionDays: Double
    /// The LMDB map never grows past this: a full disk becomes a clear error on the write
    /// that hit the ceiling, not a dead worker.
    public var mapMaxMB: Int

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let data = environment["VOXFCGI_DATA_DIR"] ?? "./data"
        dataDirectory = data
        socketPath = environment["VOXFCGI_SOCKET"] ?? "\(data)/run/voxfcgi.sock"
        socketMode = environment["VOXFCGI_SOCKET_MODE"].flatMap { mode_t($0, radix: 8) } ?? 0o660
        tcpAddress = environment["VOXFCGI_TCP"].flatMap { $0.isEmpty ? nil : $0 }
        threads = environment["VOXFCGI_THREADS"].flatMap(Int.init) ?? 16
        maxBodyBytes = environment["VOXFCGI_MAX_BODY_BYTES"].flatMap(Int.init) ?? 1 << 20
        mapSizeMB = environment["VOXFCGI_MAP_SIZE_MB"].flatMap(Int.init) ?? 1024
        sessionHours = environment["VOXFCGI_SESSION_HOURS"].flatMap(Double.init) ?? 12
        masterKeyFile = environment["VOXFCGI_MASTER_KEY_FILE"] ?? "\(data)/master.key"
        masterKey = environment["VOXFCGI_MASTER_KEY"]
        logLevel = environment["VOXFCGI_LOG_LEVEL"] ?? "info"
        templateDirectory = environment["VOXFCGI_TEMPLATES"]
        publicURL = environment["VOXFCGI_PUBLIC_URL"] ?? "http://127.0.0.1:8080"
        voximplantURL = environment["VOXFCGI_VOXIMPLANT_URL"] ?? "https://api.voximplant.com/platform_api"
        elevenLabsURL = environment["VOXFCGI_ELEVENLABS_URL"] ?? "https://api.elevenlabs.io"
        liveCallTimeoutMinutes = environment["VOXFCGI_LIVE_CALL_TIMEOUT_MINUTES"].flatMap(Double.init) ?? 180
        syncMinutes = environment["VOXFCGI_SYNC_MINUTES"].flatMap(Double.init) ?? 5
        backfillDays = environment["VOXFCGI_BACKFILL_DAYS"].flatMap(Double.init) ?? 30
        upstreamTimeoutSeconds = environment["VOXFCGI_UPSTREAM_TIMEOUT_SECONDS"].flatMap(Double.init) ?? 30
        jobLeaseSeconds = environment["VOXFCGI_JOB_LEASE_SECONDS"].flatMap(Double.init) ?? 300
        s3TimeoutSeconds = environment["VOXFCGI_S3_TIMEOUT_SECONDS"].flatMap(Double.init) ?? 120
        retentionSweepMinutes = environment["VOXFCGI_RETENTION_SWEEP_MINUTES"].flatMap(Double.init) ?? 60
        recordingSources = environment["VOXFCGI_RECORDING_SOURCES"] ?? Upstreams.defaultRecordingSources
        downloadMaxMB = environment["VOXFCGI_DOWNLOAD_MAX_MB"].flatMap(Int.init).map { min(max($0, 1), 1 << 20) } ?? 512
        downloadLowSpeedBytes = environment["VOXFCGI_DOWNLOAD_LOW_SPEED_BYTES"].flatMap(Int.init).map { max($0, 1) } ?? 1024
        downloadLowSpeedSeconds = environment["VOXFCGI_DOWNLOAD_LOW_SPEED_SECONDS"].flatMap(Int.init).map { max($0, 1) } ?? 60
        parkedJobRetentionDays = environment["VOXFCGI_PARKED_JOB_RETENTION_DAYS"].flatMap(Double.init).map { max($0, 1) } ?? 30
        orphanTranscriptRetentionDays = environment["VOXFCGI_ORPHAN_TRANSCRIPT_RETENTION_DAYS"].flatMap(Double.init).map { max($0, 1) } ?? 7
        mapMaxMB = environment["VOXFCGI_MAP_MAX_MB"].flatMap(Int.init).map { max($0, 16) } ?? 256 * 1024
    }

    /// The policy of recording downloads these settings describe; a malformed allow-list is an
    /// error at start that names the variable.
    public func recordingPolicy() throws -> OutboundPolicy {
        let sources: OriginAllowList
        do { sources = try OriginAllowList(recordingSources) } catch {
            throw SettingsError("VOXFCGI_RECORDING_SOURCES: \(error.description)")
        }
        return .untrusted(sources, maxBodyBytes: Int64(downloadMaxMB) << 20,
                          lowSpeed: (downloadLowSpeedBytes, downloadLowSpeedSeconds))
    }

    public var lmdbDirectory: String { "\(dataDirectory)/lmdb" }
    /// The local object store's root; nginx's internal /_recordings/ location serves its objects/.
    public var recordingsDirectory: String { "\(dataDirectory)/recordings" }
}

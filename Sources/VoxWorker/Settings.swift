import Foundation
import HTTPTransport
import VoxServices

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
    /// VOXFCGI_AUDIT_RETENTION_DAYS: how long the audit log keeps an entry (0: forever).
    public var auditRetentionDays: Int
    /// The LMDB map never grows past this: a full disk becomes a clear error on the write
    /// that hit the ceiling, not a dead worker.
    public var mapMaxMB: Int
    /// When scheduled backups run and which are kept (VOXFCGI_BACKUP_*).
    public var backupPolicy: BackupPolicy
    /// Metrics on or off (VOXFCGI_METRICS); where the Prometheus listener is (empty: none);
    /// the bearer token that opens `/metrics` through nginx (empty: that route is a 404).
    public var metricsEnabled: Bool
    public var metricsListen: String
    public var metricsToken: String

    /// Reads every setting once. A value that is set but malformed or out of its range is an
    /// error naming the variable (`VOXFCGI_THREADS=abc` used to run 16 threads silently, and
    /// `VOXFCGI_SESSION_HOURS=nan` trapped at the first sign-in). All problems are listed at once.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var read = EnvironmentReader(environment)
        let data = read.text("VOXFCGI_DATA_DIR", "./data")
        dataDirectory = data
        socketPath = read.text("VOXFCGI_SOCKET", "\(data)/run/voxfcgi.sock")
        socketMode = mode_t(read.integer("VOXFCGI_SOCKET_MODE", 0o660, 0...0o777, radix: 8))
        tcpAddress = environment["VOXFCGI_TCP"].flatMap { $0.isEmpty ? nil : $0 }
        threads = read.integer("VOXFCGI_THREADS", 16, 1...1024)
        maxBodyBytes = read.integer("VOXFCGI_MAX_BODY_BYTES", 1 << 20, 1024...(64 << 20))
        mapSizeMB = read.integer("VOXFCGI_MAP_SIZE_MB", 1024, 1...(1 << 24))
        sessionHours = read.number("VOXFCGI_SESSION_HOURS", 12, 0.1...(24 * 365))
        masterKeyFile = read.text("VOXFCGI_MASTER_KEY_FILE", "\(data)/master.key")
        masterKey = environment["VOXFCGI_MASTER_KEY"]
        logLevel = read.choice("VOXFCGI_LOG_LEVEL", "info", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        templateDirectory = environment["VOXFCGI_TEMPLATES"]
        publicURL = read.text("VOXFCGI_PUBLIC_URL", "http://127.0.0.1:8080")
        voximplantURL = read.text("VOXFCGI_VOXIMPLANT_URL", "https://api.voximplant.com/platform_api")
        elevenLabsURL = read.text("VOXFCGI_ELEVENLABS_URL", "https://api.elevenlabs.io")
        liveCallTimeoutMinutes = read.number("VOXFCGI_LIVE_CALL_TIMEOUT_MINUTES", 180, 1...(7 * 24 * 60))
        syncMinutes = read.number("VOXFCGI_SYNC_MINUTES", 5, 0.1...(365 * 24 * 60))
        backfillDays = read.number("VOXFCGI_BACKFILL_DAYS", 30, 0...3650)
        upstreamTimeoutSeconds = read.number("VOXFCGI_UPSTREAM_TIMEOUT_SECONDS", 30, 1...3600)
        jobLeaseSeconds = read.number("VOXFCGI_JOB_LEASE_SECONDS", 300, 1...86_400)
        s3TimeoutSeconds = read.number("VOXFCGI_S3_TIMEOUT_SECONDS", 120, 1...86_400)
        retentionSweepMinutes = read.number("VOXFCGI_RETENTION_SWEEP_MINUTES", 60, 0.1...(7 * 24 * 60))
        recordingSources = read.text("VOXFCGI_RECORDING_SOURCES", Upstreams.defaultRecordingSources)
        downloadMaxMB = read.integer("VOXFCGI_DOWNLOAD_MAX_MB", 512, 1...(1 << 20))
        downloadLowSpeedBytes = read.integer("VOXFCGI_DOWNLOAD_LOW_SPEED_BYTES", 1024, 1...(1 << 30))
        downloadLowSpeedSeconds = read.integer("VOXFCGI_DOWNLOAD_LOW_SPEED_SECONDS", 60, 1...86_400)
        parkedJobRetentionDays = read.number("VOXFCGI_PARKED_JOB_RETENTION_DAYS", 30, 1...36_500)
        orphanTranscriptRetentionDays = read.number("VOXFCGI_ORPHAN_TRANSCRIPT_RETENTION_DAYS", 7, 1...36_500)
        auditRetentionDays = Int(read.number("VOXFCGI_AUDIT_RETENTION_DAYS", 365, 0...36_500))
        mapMaxMB = read.integer("VOXFCGI_MAP_MAX_MB", 256 * 1024, 16...(1 << 30))
        metricsEnabled = read.choice("VOXFCGI_METRICS", "on", ["on", "off"]) == "on"
        metricsListen = read.text("VOXFCGI_METRICS_LISTEN", "127.0.0.1:9464")
        metricsToken = read.text("VOXFCGI_METRICS_TOKEN", "")
        if !metricsListen.isEmpty && !Settings.isIPv4AndPort(metricsListen) {
            read.problems.append("VOXFCGI_METRICS_LISTEN=\(metricsListen.prefix(40)) is not IPv4:port (e.g. 127.0.0.1:9464)")
        }
        backupPolicy = BackupPolicy(everyHours: read.integer("VOXFCGI_BACKUP_EVERY_HOURS", 24, 0...(24 * 365)),
                                    daily: read.integer("VOXFCGI_BACKUP_KEEP_DAILY", 7, 0...3650),
                                    weekly: read.integer("VOXFCGI_BACKUP_KEEP_WEEKLY", 4, 0...520))
        if !read.problems.isEmpty { throw SettingsError(read.problems.joined(separator: "; ")) }
    }

    static func isIPv4AndPort(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var address = in_addr()
        return parts.count == 2 && UInt16(parts[1]) != nil && inet_pton(AF_INET, String(parts[0]), &address) == 1
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

/// Reads `VOXFCGI_*` variables: unset (or empty) gives the default; set, it must parse and be
/// in range, else a problem naming the variable is noted.
struct EnvironmentReader {
    let environment: [String: String]
    var problems: [String] = []

    init(_ environment: [String: String]) { self.environment = environment }

    private func value(_ name: String) -> String? {
        environment[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
    }

    func text(_ name: String, _ fallback: String) -> String { value(name) ?? fallback }

    mutating func integer(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>, radix: Int = 10) -> Int {
        guard let text = value(name) else { return fallback }
        guard let number = Int(text, radix: radix), range.contains(number) else {
            problems.append("\(name)=\(text.prefix(40)) is not a whole number from \(String(range.lowerBound, radix: radix)) to \(String(range.upperBound, radix: radix))")
            return fallback
        }
        return number
    }

    mutating func number(_ name: String, _ fallback: Double, _ range: ClosedRange<Double>) -> Double {
        guard let text = value(name) else { return fallback }
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            problems.append("\(name)=\(text.prefix(40)) is not a number from \(range.lowerBound) to \(range.upperBound)")
            return fallback
        }
        return number
    }

    mutating func choice(_ name: String, _ fallback: String, _ choices: [String]) -> String {
        guard let text = value(name) else { return fallback }
        guard choices.contains(text) else {
            problems.append("\(name)=\(text.prefix(40)) is not one of \(choices.joined(separator: ", "))")
            return fallback
        }
        return text
    }
}

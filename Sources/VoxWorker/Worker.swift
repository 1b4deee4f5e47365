import Essentials
import FastCGI
import Foundation
import KVStore
import Logging
import Metrics
import Prometheus
import VoxCore
import VoxServices
import VoxWeb

/// The whole worker, built from `Settings` in dependency order: the database, the vault, the
/// application services, the job runner, housekeeping, the web app and the FastCGI server.
/// `voxfcgi serve` and the test harness both build it here, so what the tests drive is what
/// runs (after hummingbird-project/template's `buildApplication`).
///
/// `start` starts the parts that have threads in dependency order (runner, housekeeping,
/// server); `stop` stops them in reverse: no new requests first, then no new rounds of
/// housekeeping, then the jobs. The database closes when the worker is released, after all of
/// them: nothing is torn down under a thread still using it.
public final class Worker: Sendable {
    public let settings: Settings
    public let database: Database
    public let services: ApplicationServices
    public let app: App
    public let runner: JobRunner
    public let housekeeping: Housekeeping
    public let server: FastCGIServer
    let logger: Logger

    /// What a test replaces: the clock (to move time) and the password hasher (a fast one).
    public struct Overrides: Sendable {
        public var clock: any Clock = SystemClock()
        public var hasher: PasswordHasher = .standard
        public init() {}
    }

    /// The Prometheus listener, when metrics are on and `VOXFCGI_METRICS_LISTEN` names one.
    let metricsEndpoint: MetricsEndpoint?
    public var metricsPort: UInt16? { metricsEndpoint?.port }

    /// `metrics`: the registry the process bootstrapped swift-metrics with (`voxfcgi serve`
    /// does, once per process), or nil when metrics are off.
    public init(settings: Settings, logger: Logger, overrides: Overrides = Overrides(),
                metrics: PrometheusCollectorRegistry? = nil) throws {
        self.settings = settings
        self.logger = logger
        database = try settings.openDatabase()
        let keyring = try settings.keyring()

        var configuration = ApplicationServices.Configuration(storageDirectory: settings.dataDirectory,
                                                              recordingPolicy: try settings.recordingPolicy())
        configuration.publicURL = settings.publicURL
        configuration.voximplantURL = settings.voximplantURL
        configuration.elevenLabsURL = settings.elevenLabsURL
        configuration.upstreamTimeout = settings.upstreamTimeoutSeconds
        configuration.s3Timeout = settings.s3TimeoutSeconds
        configuration.sessionLifetime = settings.sessionHours * 3600
        configuration.jobLease = settings.jobLeaseSeconds
        configuration.backfillDays = settings.backfillDays
        configuration.parkedJobRetentionDays = settings.parkedJobRetentionDays
        configuration.orphanTranscriptRetentionDays = settings.orphanTranscriptRetentionDays
        configuration.auditRetentionDays = settings.auditRetentionDays
        configuration.backupPolicy = settings.backupPolicy
        configuration.syncInterval = settings.syncMinutes * 60
        services = try ApplicationServices(database: database, vault: Vault(keyring: keyring), configuration: configuration,
                                           hasher: overrides.hasher, clock: overrides.clock, logger: logger)

        runner = JobRunner(queue: services.jobs, threads: 2, handlers: services.jobHandlers, logger: logger)
        housekeeping = services.housekeeping(
            Housekeeping.Schedule(syncEvery: settings.syncMinutes * 60, sweepEvery: settings.retentionSweepMinutes * 60,
                                  staleCallAfter: settings.liveCallTimeoutMinutes * 60),
            database: database, logger: logger)

        var exposition: MetricsExposition?
        var endpoint: MetricsEndpoint?
        if let metrics {
            let gauges = MetricsGauges(database: database, clock: overrides.clock)
            let render: @Sendable () -> [UInt8] = {
                do { try gauges.update() } catch { logger.warning("metrics gauges failed", metadata: ["error": "\(error)"]) }
                return metrics.emitToBuffer()
            }
            exposition = MetricsExposition(token: settings.metricsToken, render: render)
            if !settings.metricsListen.isEmpty {
                // A port that is taken costs the scrape, not the site: said loudly, then served without it.
                do {
                    endpoint = try MetricsEndpoint(address: settings.metricsListen, logger: logger, render: render)
                } catch {
                    logger.critical("no metrics listener", metadata: ["error": "\(error)"])
                }
            }
        }
        metricsEndpoint = endpoint
        let site = Site(services: services, templates: try Templates(directory: settings.templateDirectory),
                        csrf: CSRF(key: keyring.derive("csrf")), metrics: exposition)
        let app = App(site: site, logger: logger)
        self.app = app
        var server = FastCGIServer.Configuration()
        server.socketPath = settings.socketPath
        server.socketMode = settings.socketMode
        server.tcpAddress = settings.tcpAddress
        server.threads = settings.threads
        let formLimit = settings.maxBodyBytes
        server.maxBodySize = { path in app.maxBodySize(forPath: path, formLimit: formLimit) }
        self.server = FastCGIServer(configuration: server) { app.handle($0) }
    }

    /// Starts the job runner, housekeeping and the server, in that order.
    public func start() throws {
        let leftovers = services.recordings.local.removeLeftovers()
        if leftovers > 0 { logger.notice("removed unfinished temporary files", metadata: ["count": .stringConvertible(leftovers)]) }
        try runner.start()
        try housekeeping.start()
        try FileManager.default.createDirectory(
            atPath: (settings.socketPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try server.start()
        try metricsEndpoint?.start()
        logger.info("listening", metadata: [
            "metrics": .string(metricsEndpoint.map { "\(settings.metricsListen.split(separator: ":").first ?? ""):\($0.port)" } ?? "-"),
            "socket": .string(settings.socketPath), "tcp": .string(settings.tcpAddress ?? "-"),
            "threads": .stringConvertible(settings.threads), "data": .string(settings.dataDirectory),
        ])
    }

    /// Stops in reverse order: the server (requests in flight finish), housekeeping (the round
    /// in progress finishes), the job runner (the job in hand finishes). Returns what was still
    /// running after `gracePeriod`, if anything: then the caller should end the process
    /// without tearing anything down.
    public func stop(gracePeriod: TimeInterval = 30) -> String? {
        logger.info("stopping: finishing requests in flight", metadata: ["in_flight": .stringConvertible(server.requestsInFlight)])
        guard server.stop(gracePeriod: gracePeriod) else { return "requests still running after \(Int(gracePeriod)) s" }
        metricsEndpoint?.stop()
        housekeeping.stop()
        guard runner.stop(gracePeriod: gracePeriod) else { return "a job still running after \(Int(gracePeriod)) s" }
        return nil
    }
}

extension Settings {
    /// The LMDB environment under the data folder, with the map sizes these settings give.
    /// The worker and every CLI command open it here.
    public func openDatabase() throws -> Database {
        try FileManager.default.createDirectory(atPath: lmdbDirectory, withIntermediateDirectories: true)
        var options = Environment.Options()
        options.mapSize = mapSizeMB << 20
        options.maxMapSize = mapMaxMB << 20
        // Without a bootstrapped metrics system these go to swift-metrics' no-op handlers.
        // Made once: `voxfcgi serve` bootstraps the metrics system before it opens the database.
        let batches = Recorder(label: MetricName.commitBatch)
        let commits = Metrics.Timer(label: MetricName.commitDuration)
        options.commitObserver = { batch, nanoseconds in
            batches.record(batch)
            commits.recordNanoseconds(Int64(nanoseconds))
        }
        return try Database(path: lmdbDirectory, options: options)
    }

    /// The master keys, from VOXFCGI_MASTER_KEY or the key file (created on first use).
    public func keyring() throws -> Keyring {
        try Keyring.load(path: masterKeyFile, environmentValue: masterKey)
    }
}

import Foundation
import HTTPTransport
import Logging
import VoxCore

/// The services the web layer calls, built once by the composition root (`Worker`) in
/// dependency order. Each member was given only what it uses; this only holds them
/// together so that the pages can be handed one thing (a class: reading a member through
/// `Site` then costs one reference, not a copy of every member). The job runner's handlers and
/// housekeeping are made from the same members (`jobHandlers`, `housekeeping`).
public final class ApplicationServices: Sendable {
    public let clock: any Clock
    public let users: Users
    public let team: Team
    public let twoFactor: TwoFactor
    public let audit: AuditLog
    public let sessions: Sessions
    public let throttle: LoginThrottle
    public let setup: SetupService
    public let calls: CallQueries
    public let search: TranscriptSearch
    public let statistics: StatisticsQueries
    public let jobs: JobQueue
    public let upstreams: Upstreams
    public let recordings: RecordingStores
    public let storage: StorageConfiguration
    public let sync: CallSync
    public let deployment: Deployment
    public let scenarioEvents: ScenarioEvents
    public let elevenLabsWebhooks: ElevenLabsWebhooks
    public let backups: Backups
    public let backupJob: BackupJob
    /// The last webhook events per application (this process's, in memory).
    public let webhookEvents = WebhookEventLog()
    /// How often each account is synced (for "next run" on the Health page).
    public let syncInterval: TimeInterval
    /// Where this server is reached from outside (webhook URLs in scenarios and on Setup).
    public let publicURL: String
    let archiver: RecordingArchiver
    let retention: RecordingRetention
    let transcripts: TranscriptFetcher
    let purges: Purges

    /// What the services are made from, each with its meaning; the composition root fills it
    /// from `Settings`.
    public struct Configuration: Sendable {
        public var storageDirectory: String
        public var publicURL = "http://127.0.0.1:8080"
        public var voximplantURL = "https://api.voximplant.com/platform_api"
        public var elevenLabsURL = "https://api.elevenlabs.io"
        public var upstreamTimeout: TimeInterval = 30
        public var recordingPolicy: OutboundPolicy
        public var s3Timeout: TimeInterval = 120
        public var sessionLifetime: TimeInterval = 12 * 3600
        public var jobLease: TimeInterval = 300
        public var backfillDays: Double = 30
        public var parkedJobRetentionDays: Double = 30
        public var orphanTranscriptRetentionDays: Double = 7
        /// Audit entries older than this many days are deleted; 0 keeps them all.
        public var auditRetentionDays = 365
        public var backupPolicy = BackupPolicy()
        public var syncInterval: TimeInterval = 300
        /// What takes one backup (the worker's own `backup create`; tests may name another).
        public var backupCommand = ["/proc/self/exe", "backup", "create"]

        public init(storageDirectory: String, recordingPolicy: OutboundPolicy) {
            self.storageDirectory = storageDirectory
            self.recordingPolicy = recordingPolicy
        }
    }

    public init(database: Database, vault: Vault, configuration: Configuration, hasher: PasswordHasher = .standard,
                clock: any Clock, logger: Logger) throws {
        self.clock = clock
        users = Users(database: database, hasher: hasher, clock: clock)
        team = Team(database: database, hasher: hasher, clock: clock)
        twoFactor = TwoFactor(database: database, vault: vault, clock: clock)
        audit = AuditLog(database: database, clock: clock)
        sessions = Sessions(database: database, lifetime: configuration.sessionLifetime, clock: clock)
        throttle = LoginThrottle(database: database, clock: clock)
        setup = SetupService(database: database, vault: vault, clock: clock)
        calls = CallQueries(database: database)
        search = TranscriptSearch(database: database)
        statistics = StatisticsQueries(database: database)
        var jobs = JobQueue(database: database, clock: clock)
        jobs.lease = configuration.jobLease
        self.jobs = jobs
        upstreams = Upstreams(voximplantURL: configuration.voximplantURL, elevenLabsURL: configuration.elevenLabsURL, vault: vault,
                              logger: logger, timeout: configuration.upstreamTimeout, recordingPolicy: configuration.recordingPolicy)
        recordings = try RecordingStores(root: configuration.storageDirectory + "/recordings", database: database, vault: vault,
                                         s3Timeout: configuration.s3Timeout, logger: logger)
        storage = StorageConfiguration(database: database, vault: vault, stores: recordings, clock: clock)
        sync = CallSync(database: database, upstreams: upstreams, jobs: jobs, clock: clock, backfillDays: configuration.backfillDays)
        publicURL = configuration.publicURL
        deployment = Deployment(setup: setup, upstreams: upstreams, publicURL: publicURL)
        scenarioEvents = ScenarioEvents(database: database, vault: vault, jobs: jobs, clock: clock)
        elevenLabsWebhooks = ElevenLabsWebhooks(database: database, vault: vault, jobs: jobs, clock: clock)
        archiver = RecordingArchiver(database: database, stores: recordings, upstreams: upstreams, clock: clock)
        retention = RecordingRetention(database: database, stores: recordings, jobs: jobs, upstreams: upstreams, clock: clock)
        transcripts = TranscriptFetcher(database: database, upstreams: upstreams, clock: clock)
        backups = Backups(database: database, vault: vault, stores: recordings, clock: clock)
        syncInterval = configuration.syncInterval
        backupJob = BackupJob(database: database, jobs: jobs, policy: configuration.backupPolicy, clock: clock,
                              command: configuration.backupCommand)
        purges = Purges(database: database, throttle: throttle, jobs: jobs, clock: clock,
                        parkedJobDays: configuration.parkedJobRetentionDays,
                        orphanTranscriptDays: configuration.orphanTranscriptRetentionDays,
                        auditDays: configuration.auditRetentionDays)
    }

    /// The handler of each job kind.
    public var jobHandlers: [JobKind: JobRunner.Handler] {
        JobHandlers.all(transcripts: transcripts, archiver: archiver, retention: retention, sync: sync, jobs: jobs,
                        backups: backupJob)
    }

    /// The housekeeping loop over these services (not started).
    public func housekeeping(_ schedule: Housekeeping.Schedule, database: Database, logger: Logger) -> Housekeeping {
        Housekeeping(retention: retention, purges: purges, sync: sync, maintenance: CallMaintenance(database: database, clock: clock),
                     sessions: sessions, backups: backupJob, schedule: schedule, logger: logger)
    }

    /// Whether the database answers (the health check).
    public func isHealthy() throws { _ = try users.count() }
}

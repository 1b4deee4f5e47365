import Foundation
import KVStore

/// The application's LMDB environment with every table opened once, typed.
///
/// Table handles are plain values: services receive the `Database` and call
/// `environment.read`/`write` with them. Schema changes bump `schemaVersion` and add a
/// migration step below.
public final class Database: Sendable {
    /// 2: call-index entries only under their owner (version 1 wrote a second copy under 0).
    /// 3: call-index keys bucket the start to the minute; the value carries the exact start.
    public static let schemaVersion: UInt32 = 3

    public let environment: Environment
    public let users: Table<UInt64Key, JSONValue<User>>
    public let usersByEmail: Table<StringKey, KeyAsValue<UInt64Key>>
    /// Keyed by SHA-256 of the session token: a stolen data file holds no usable session.
    public let sessions: Table<BytesKey, JSONValue<Session>>
    /// `email:<address>` or `ip:<address>` → recent failed logins.
    public let loginFailures: Table<StringKey, JSONValue<LoginFailures>>
    /// Named counters handing out record ids.
    public let sequences: Table<StringKey, KeyAsValue<UInt64Key>>
    public let accounts: Table<UInt64Key, JSONValue<Account>>
    public let applications: Table<UInt64Key, JSONValue<Application>>
    public let calls: Table<UInt64Key, CallCodec>
    /// Voximplant session id → call id: the unique index that makes upserts idempotent.
    public let callsByVoximplantID: Table<UInt64Key, KeyAsValue<UInt64Key>>
    /// ElevenLabs conversation id → call id.
    public let callsByConversation: Table<StringKey, KeyAsValue<UInt64Key>>
    /// Date, status and number indexes in one table; see `CallIndexKey`.
    public let callIndex: Table<CallIndexKey, CallSummaryCodec>
    public let callStats: Table<CallStatsKey, CallStatsCodec>
    /// Keyed by conversation id, so a transcript that arrives before its call waits here.
    public let transcripts: Table<StringKey, JSONValue<Transcript>>
    public let elevenLabsKeys: Table<UInt64Key, JSONValue<ElevenLabsKey>>
    /// The job queue: records, their due times (due | id), dedupe keys, and parked failures.
    public let jobs: Table<UInt64Key, JSONValue<Job>>
    public let jobsDue: Table<Pair<UInt64Key, UInt64Key>, EmptyValue>
    public let jobsByDedupe: Table<StringKey, KeyAsValue<UInt64Key>>
    public let failedJobs: Table<UInt64Key, JSONValue<Job>>
    /// Voximplant account id (ours) → where its call-history sync stands.
    public let syncStates: Table<UInt64Key, JSONValue<SyncState>>
    /// (call start, call id) of every call with an archived recording: what retention walks,
    /// oldest first, without reading calls that have none.
    public let recordingsByStart: Table<Pair<UInt64Key, UInt64Key>, EmptyValue>
    /// Where recordings go: one record, `StorageSettings.recordID` (an integer key, like every
    /// table with sealed fields, so vault rotation walks it the same way).
    public let storageSettings: Table<UInt64Key, JSONValue<StorageSettings>>

    /// Applications and accounts as the webhook path reads them: decoded once per change.
    public let applicationCache: DecodingCache<UInt64Key, JSONValue<Application>>
    public let accountCache: DecodingCache<UInt64Key, JSONValue<Account>>

    public init(path: String, options: Environment.Options = Environment.Options()) throws {
        environment = try Environment(path: path, options: options)
        // Checked before any table is opened; migrated (which needs the tables) below.
        try Schema.check(environment, supports: Database.schemaVersion)
        users = try environment.openTable("users")
        usersByEmail = try environment.openTable("users_by_email")
        sessions = try environment.openTable("sessions")
        loginFailures = try environment.openTable("login_failures")
        sequences = try environment.openTable("sequences")
        accounts = try environment.openTable("accounts")
        applications = try environment.openTable("applications")
        calls = try environment.openTable("calls")
        callsByVoximplantID = try environment.openTable("calls_by_voximplant_id")
        callsByConversation = try environment.openTable("calls_by_conversation")
        callIndex = try environment.openTable("call_index")
        callStats = try environment.openTable("call_stats")
        transcripts = try environment.openTable("transcripts")
        elevenLabsKeys = try environment.openTable("elevenlabs_keys")
        jobs = try environment.openTable("jobs")
        jobsDue = try environment.openTable("jobs_due")
        jobsByDedupe = try environment.openTable("jobs_by_dedupe")
        failedJobs = try environment.openTable("jobs_failed")
        syncStates = try environment.openTable("sync_states")
        recordingsByStart = try environment.openTable("recordings_by_start")
        storageSettings = try environment.openTable("storage_settings")
        applicationCache = DecodingCache(applications)
        accountCache = DecodingCache(accounts)
        _ = try Schema(environment: environment, version: Database.schemaVersion) { [self] from, txn in
            if from < 3 { try rebuildCallIndex(txn) }
        }
    }

    /// Migration to version 3, which keys the index by start minute (see `CallIndexKey`):
    /// every entry is written again from the calls. It also covers version 2's change, the
    /// end of the copies version 1 kept under scope 0.
    private func rebuildCallIndex(_ txn: WriteTransaction) throws {
        try callIndex.removeAll(txn)
        try calls.scan(txn) { _, call in
            try addIndexEntries(of: call, in: txn)
            return true
        }
    }

    /// The ElevenLabs key the call's application reaches its agent with, if it has one: what
    /// the transcript and the audio of its conversation are fetched with.
    public func elevenLabsKey(for call: Call) throws -> ElevenLabsKey? {
        try environment.read { txn in
            try applications.get(txn, call.applicationID)?.elevenLabsKeyID.flatMap { try elevenLabsKeys.get(txn, $0) }
        }
    }

    /// The next id of a sequence, starting at 1. Call inside the write that stores the record,
    /// so an id is never handed out for a record that rolled back.
    public func nextID(_ sequence: String, in txn: WriteTransaction) throws -> UInt64 {
        let next = (try sequences.get(txn, sequence) ?? 0) + 1
        try sequences.put(txn, sequence, next)
        return next
    }
}

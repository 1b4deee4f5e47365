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
    /// 4: tenants apart: calls found by (account, session id), conversations and transcripts
    ///    kept per owner, Voximplant accounts unique, ElevenLabs webhook tokens.
    /// 5: transcript search: every linked transcript indexed (`TranscriptIndex`).
    /// 6: number facets one nibble a digit (see `Facet.number`): the call index is rebuilt.
    public static let schemaVersion: UInt32 = 6

    public let environment: Environment
    /// Raised after each commit that enqueued a job (see `JobQueue.enqueue`); the job runner
    /// waits on it.
    public let jobSignal = JobSignal()
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
    /// (account id, Voximplant session id) → call id: the unique index that makes upserts
    /// idempotent. The account is part of the key because a session id is only as trustworthy
    /// as whoever reports it: an event signed by one tenant's application, or a sync of one
    /// tenant's account, must never find another tenant's call.
    public let callsBySession: Table<Pair<UInt64Key, UInt64Key>, KeyAsValue<UInt64Key>>
    /// (owner, ElevenLabs conversation id) → call id. Per owner for the same reason: a
    /// conversation id comes from webhooks that one tenant signs.
    public let callsByConversation: Table<Pair<UInt64Key, StringKey>, KeyAsValue<UInt64Key>>
    /// Date, status and number indexes in one table; see `CallIndexKey`.
    public let callIndex: Table<CallIndexKey, CallSummaryCodec>
    public let callStats: Table<CallStatsKey, CallStatsCodec>
    /// Keyed by (owner, conversation id), so a transcript that arrives before its call waits
    /// here, and one tenant's webhook can never overwrite another tenant's transcript.
    public let transcripts: Table<Pair<UInt64Key, StringKey>, JSONValue<Transcript>>
    /// When each transcript without a call arrived, (arrival µs, owner, conversation): what the
    /// purge of orphans walks, oldest first. A transcript leaves it once linked.
    public let orphanTranscripts: Table<Triple<UInt64Key, UInt64Key, StringKey>, EmptyValue>
    public let elevenLabsKeys: Table<UInt64Key, JSONValue<ElevenLabsKey>>
    /// SHA-256 of an ElevenLabs key's webhook URL token → the key: which key (and so which
    /// secret, one HMAC) a post-call webhook is checked against. Only the hash is stored.
    public let elevenLabsWebhookTokens: Table<BytesKey, KeyAsValue<UInt64Key>>
    /// Voximplant account id → our account record: one tenant per Voximplant account.
    public let accountsByVoximplantID: Table<StringKey, KeyAsValue<UInt64Key>>
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
    /// SHA-256 of a one-time password link's token → the invitation (see `Team`).
    public let invitations: Table<BytesKey, JSONValue<Invitation>>
    /// (time µs, sequence) → what someone did; appended in the transaction of the change.
    public let audit: Table<Pair<UInt64Key, UInt64Key>, JSONValue<AuditEntry>>
    /// SHA-256 of a pending sign-in's token (password accepted, code awaited) → whose.
    public let pendingSignIns: Table<BytesKey, JSONValue<PendingSignIn>>
    public let teamSettings: Table<UInt64Key, JSONValue<TeamSettings>>
    /// Start time µs → how a backup run went (see `BackupLog`).
    public let backupRuns: Table<UInt64Key, JSONValue<BackupRun>>
    /// Transcript search (see `TranscriptIndex`): (owner, term, block start counting down)
    /// → a `PostingBlock` of the calls with the term, and (owner, term) for prefixes.
    let transcriptTerms: Table<TranscriptIndex.TermsKey, BytesValue>
    let transcriptLexicon: Table<Pair<UInt64Key, StringKey>, EmptyValue>

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
        callsBySession = try environment.openTable("calls_by_session")
        callsByConversation = try environment.openTable("calls_by_owner_conversation")
        callIndex = try environment.openTable("call_index")
        callStats = try environment.openTable("call_stats")
        transcripts = try environment.openTable("transcripts_by_owner")
        orphanTranscripts = try environment.openTable("transcripts_orphaned")
        elevenLabsKeys = try environment.openTable("elevenlabs_keys")
        elevenLabsWebhookTokens = try environment.openTable("elevenlabs_webhook_tokens")
        accountsByVoximplantID = try environment.openTable("accounts_by_voximplant_id")
        jobs = try environment.openTable("jobs")
        jobsDue = try environment.openTable("jobs_due")
        jobsByDedupe = try environment.openTable("jobs_by_dedupe")
        failedJobs = try environment.openTable("jobs_failed")
        syncStates = try environment.openTable("sync_states")
        recordingsByStart = try environment.openTable("recordings_by_start")
        storageSettings = try environment.openTable("storage_settings")
        invitations = try environment.openTable("invitations")
        audit = try environment.openTable("audit")
        pendingSignIns = try environment.openTable("pending_sign_ins")
        teamSettings = try environment.openTable("team_settings")
        backupRuns = try environment.openTable("backup_runs")
        transcriptTerms = try environment.openTable("transcript_terms")
        transcriptLexicon = try environment.openTable("transcript_lexicon")
        applicationCache = DecodingCache(applications)
        accountCache = DecodingCache(accounts)
        // Version 3's tables, opened only to be migrated from (opening creates a table).
        let legacy = try Schema.storedVersion(in: environment).map { $0 < 4 } == true ? try LegacyTables(environment) : nil
        _ = try Schema(environment: environment, version: Database.schemaVersion) { [self] from, txn in
            if from < 6 { try rebuildCallIndex(txn) }
            if from < 4, let legacy { try separateTenants(legacy, txn) }
            if from < 5 { try indexTranscripts(txn) }
        }
    }

    /// Migration to version 5: the transcript of every call that shows one goes into the search
    /// index. One transaction, as every migration here: about a minute per 100,000 transcripts.
    private func indexTranscripts(_ txn: WriteTransaction) throws {
        let index = TranscriptIndex(database: self)
        var added = 0
        try calls.scan(txn) { _, call in
            if call.hasTranscript, let conversation = call.conversationID,
               let transcript = try transcripts.get(txn, (call.ownerUserID, conversation)) {
                try index.add(transcript, for: call, in: txn)
                added += 1
                // Merged and written every thousand calls: memory stays bounded.
                if added % 1_000 == 0 { try index.flushPending(txn) }
            }
            return true
        }
    }

    /// Migration to version 4: the unique indexes of calls by session and by conversation are
    /// written again under their account and owner, transcripts move under the owner of their
    /// call (one with no call yet is kept as an orphan of nobody, which the purge ends), and
    /// accounts get their uniqueness index. The old tables are emptied.
    private func separateTenants(_ legacy: LegacyTables, _ txn: WriteTransaction) throws {
        let (oldBySession, oldByConversation, oldTranscripts) = (legacy.bySession, legacy.byConversation, legacy.transcripts)
        try calls.scan(txn) { id, call in
            try callsBySession.put(txn, (call.accountID, call.voximplantSessionID), id)
            if let conversation = call.conversationID { try callsByConversation.put(txn, (call.ownerUserID, conversation), id) }
            return true
        }
        let arrived = Time.micros(Date())
        try oldTranscripts.scan(txn) { conversation, transcript in
            if let callID = try oldByConversation.get(txn, conversation), let call = try calls.get(txn, callID) {
                try transcripts.put(txn, (call.ownerUserID, conversation), transcript)
            } else {
                var transcript = transcript
                transcript.receivedAt = Time.date(micros: arrived)  // the orphan index is keyed by it
                try transcripts.put(txn, (0, conversation), transcript)
                try orphanTranscripts.put(txn, (arrived, 0, conversation), ())
            }
            return true
        }
        try accounts.scan(txn) { id, account in
            if try accountsByVoximplantID.get(txn, account.voximplantAccountID) == nil {
                try accountsByVoximplantID.put(txn, account.voximplantAccountID, id)
            }
            return true
        }
        try oldBySession.removeAll(txn)
        try oldByConversation.removeAll(txn)
        try oldTranscripts.removeAll(txn)
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

/// The tables schema 4 replaced, keyed without their tenant.
private struct LegacyTables {
    let bySession: Table<UInt64Key, KeyAsValue<UInt64Key>>
    let byConversation: Table<StringKey, KeyAsValue<UInt64Key>>
    let transcripts: Table<StringKey, JSONValue<Transcript>>

    init(_ environment: Environment) throws {
        bySession = try environment.openTable("calls_by_voximplant_id")
        byConversation = try environment.openTable("calls_by_conversation")
        transcripts = try environment.openTable("transcripts")
    }
}

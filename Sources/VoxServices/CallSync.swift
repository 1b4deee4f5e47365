import Foundation
import Integrations
import VoxCore

/// Pulls an account's call history from Voximplant and upserts every call.
///
/// From the checkpoint minus an overlap (calls that were still running at the last sync get
/// their outcome), page by page in ascending time. Each page is upserted and the checkpoint
/// advanced in one transaction, so an interruption anywhere loses nothing and repeats nothing:
/// the next run starts from the last committed page, and upserts by Voximplant's session id
/// make the overlap harmless.
public struct CallSync: Sendable {
    let database: Database
    let upstreams: Upstreams
    let jobs: JobQueue
    let clock: any Clock
    public var overlap: TimeInterval = 15 * 60
    /// How far back the first sync of an account reaches.
    public var backfill: TimeInterval
    public var pageSize = 1000

    public init(database: Database, upstreams: Upstreams, jobs: JobQueue, clock: any Clock, backfillDays: Double) {
        self.database = database
        self.upstreams = upstreams
        self.jobs = jobs
        self.clock = clock
        backfill = backfillDays * 86_400
    }

    /// Enqueues a sync of the account (once: a sync already waiting is not doubled).
    public func enqueue(accountID: UInt64) throws {
        try database.environment.write { txn in
            try jobs.enqueue(kind: .syncAccount, payload: String(accountID), dedupeKey: "sync:\(accountID)", in: txn)
        }
    }

    /// Enqueues a sync of every active account with a key (housekeeping's schedule).
    public func enqueueAll() throws {
        let accounts = try database.environment.read { txn in try database.accounts.entries(txn) }
        for account in accounts where account.value.active && account.value.apiKeySealed != nil {
            try enqueue(accountID: account.key)
        }
    }

    /// The last or running sync of each of `accounts` that has one, in their order.
    public func states(of accounts: [Account]) throws -> [(account: Account, state: SyncState)] {
        try database.environment.read { txn in
            try accounts.compactMap { account in try database.syncStates.get(txn, account.id).map { (account, $0) } }
        }
    }

    /// Runs a whole sync. `stopAfterPages` simulates an interruption (tests).
    public func run(accountID: UInt64, stopAfterPages: Int? = nil, heartbeat: () throws -> Void = {}) throws {
        guard let account = try database.environment.read({ txn in try database.accounts.get(txn, accountID) }),
              account.active else { return }
        let client = try upstreams.voximplant(account)
        let applications = try database.environment.read { txn in
            try database.applications.entries(txn).map(\.value).filter { $0.accountID == accountID }
        }
        let byVoxApp = Dictionary(applications.compactMap { app in app.voximplantApplicationID.map { ($0, app.id) } },
                                  uniquingKeysWith: { a, _ in a })
        var state = try database.environment.read { txn in try database.syncStates.get(txn, accountID) } ?? SyncState()
        let now = clock.now()
        let from = state.checkpoint.map { $0 - overlap } ?? now - backfill
        state.running = true
        state.pagesDone = 0
        state.inserted = 0
        state.updated = 0
        state.lastError = nil
        state.startedAt = now
        state.finishedAt = nil
        try save(state, accountID)

        do {
            var offset = 0
            while true {
                if let stop = stopAfterPages, state.pagesDone >= stop { return }
                let page = try client.callHistory(from: from, to: now + 60, offset: offset, count: pageSize)
                let calls = page.sessions.compactMap { CallSync.call(from: $0, account: account, applications: byVoxApp) }
                try database.environment.write { txn in
                    let store = CallStore(database: database)
                    for call in calls {
                        let result = try store.upsert(call, in: txn)
                        switch result {
                        case .inserted: state.inserted += 1
                        case .updated: state.updated += 1
                        case .unchanged: continue
                        }
                        // A recording Voximplant has and we have not archived yet.
                        if call.recordingURL != nil, try database.calls.get(txn, result.callID)?.recording == nil {
                            try RecordingJobs.enqueueArchive(callID: result.callID, jobs: jobs, in: txn)
                        }
                    }
                    state.pagesDone += 1
                    if let newest = calls.map(\.startedAt).max() { state.checkpoint = max(state.checkpoint ?? newest, newest) }
                    try database.syncStates.put(txn, accountID, state)
                }
                offset += page.sessions.count
                try heartbeat()
                if page.sessions.isEmpty || offset >= page.totalCount { break }
            }
            state.running = false
            state.finishedAt = clock.now()
            try save(state, accountID)
        } catch {
            state.running = false
            state.lastError = String(describing: error)
            state.finishedAt = clock.now()
            try? save(state, accountID)
            throw error
        }
    }

    private func save(_ state: SyncState, _ accountID: UInt64) throws {
        try database.environment.write { txn in try database.syncStates.put(txn, accountID, state) }
    }

    /// One Voximplant call session as our call. Status mapping (our choice, from the
    /// reference): successful → answered; SIP 486 → busy; 480, 408, 487 → no answer; else failed.
    ///
    /// A record whose numbers or time are out of range is refused (nil), not stored.
    static func call(from session: VoximplantCallSession, account: Account, applications: [UInt64: UInt64]) -> Call? {
        guard let started = session.startedAt, Time.accepted.contains(started) else { return nil }
        let legs = session.calls ?? []
        let leg = legs.first
        let incoming = leg?.incoming ?? true
        let remote = leg?.remoteNumber ?? ""
        let local = leg?.localNumber ?? ""
        let status: CallStatus
        if legs.contains(where: { $0.successful == true }) {
            status = .answered
        } else {
            switch leg?.endReason?.code?.integer(in: 0...999) ?? 0 {
            case 486: status = .busy
            case 480, 408, 487: status = .noAnswer
            default: status = .failed
            }
        }
        let cost = Money(decimal: legs.compactMap { $0.cost?.value }.reduce(0, +), currency: account.currency)
        guard let duration = (session.duration ?? leg?.duration ?? FlexibleNumber(0)).integer(in: 0...(7 * 86_400)),
              let cost else { return nil }
        return Call(
            ownerUserID: account.ownerUserID, accountID: account.id,
            applicationID: session.applicationID.flatMap { applications[$0] } ?? 0,
            voximplantSessionID: session.callSessionHistoryID, direction: incoming ? .inbound : .outbound,
            fromNumber: incoming ? remote : local, toNumber: incoming ? local : remote, startedAt: started,
            endedAt: started + Double(duration), durationSeconds: duration,
            cost: cost, status: status, finishReason: session.finishReason,
            recordingURL: session.records?.first?.recordURL ?? leg?.recordURL)
    }
}

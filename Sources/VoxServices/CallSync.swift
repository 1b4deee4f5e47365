import Foundation
import Integrations
import KVStore
import VoxCore

/// Pulls an account's call history from Voximplant and upserts every call.
///
/// From the checkpoint minus an overlap (calls that were still running at the last sync get
/// their outcome), page by page in ascending time. Each page is upserted and the checkpoint
/// advanced in one transaction, so an interruption anywhere loses nothing and repeats nothing:
/// the next run starts from the last committed page, and upserts by Voximplant's session id
/// make the overlap harmless.
///
/// GetCallHistory refuses an `offset` beyond 10,000, so a busy account's month cannot be paged
/// by offset alone. Each page after the first starts at the newest start time of the page
/// before (`from_date` is inclusive [?: the docs say "The from date"; an exclusive one would
/// skip the rest of that second]), and the sessions of that second already seen are
/// skipped by id. Only when one second holds a whole page does the offset grow, within that
/// second; more than 10,000 calls starting in one second fail the sync with a message.
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

    /// Enqueues a sync of every active account with credentials (housekeeping's schedule).
    public func enqueueAll() throws {
        let accounts = try database.environment.read { txn in try database.accounts.entries(txn) }
        for account in accounts where account.value.active && account.value.hasCredentials {
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
        let byVoxApp = try applicationIDs(accountID: accountID)
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
            var window = PagingWindow(from: from)
            while true {
                if let stop = stopAfterPages, state.pagesDone >= stop { return }
                let page = try client.callHistory(from: window.from, to: now + 60, offset: window.offset, count: pageSize)
                try store(window.unseen(page.sessions), account: account, applications: byVoxApp) { txn, tally in
                    state.inserted += tally.inserted
                    state.updated += tally.updated
                    state.pagesDone += 1
                    if let newest = tally.newest { state.checkpoint = max(state.checkpoint ?? newest, newest) }
                    try database.syncStates.put(txn, accountID, state)
                }
                try heartbeat()
                guard page.sessions.count >= pageSize else { break }
                try window.advance(past: page.sessions)
            }
            state.running = false
            state.finishedAt = clock.now()
            // Both sides should have every call that started before the checkpoint by more
            // than a webhook's or the history's usual delay.
            if let checkpoint = state.checkpoint, checkpoint - CallSync.settle > from {
                state.reconciliation = try reconcile(account: account, from: from, to: checkpoint - CallSync.settle)
            }
            try save(state, accountID)
        } catch {
            state.running = false
            state.lastError = String(describing: error)
            state.finishedAt = clock.now()
            try? save(state, accountID)
            throw error
        }
    }

    /// How long after a call's start both its webhook events and its history entry are expected.
    static let settle: TimeInterval = 10 * 60
    /// At most this many calls are compared per sync (a first sync's 30-day backfill is long).
    static let reconcileLimit = 200_000

    /// Compares, for calls of `account` that started in [from, to): which came by webhook and
    /// which the history listed (`Call.sources`). Calls stored before sources were recorded
    /// (sources empty) are left out.
    func reconcile(account: Account, from: Date, to: Date) throws -> Reconciliation {
        var result = Reconciliation(windowStart: from, windowEnd: to)
        try database.environment.read { txn in
            var seen = 0
            try database.walkCallIndex(txn, scope: account.ownerUserID, facet: Facet.date,
                                       from: (Time.micros(from), 0), below: (Time.micros(to), 0), direction: .backward) { callID, _ in
                seen += 1
                guard seen <= CallSync.reconcileLimit else { return false }
                guard let call = try database.calls.get(txn, callID), call.accountID == account.id, !call.sources.isEmpty else { return true }
                // A call still in progress is not in the history yet, whatever its start.
                if !call.sources.contains(.history), call.status != .inProgress {
                    result.webhookOnly += 1
                    if result.webhookOnlyCalls.count < Reconciliation.examples { result.webhookOnlyCalls.append(callID) }
                } else if !call.sources.contains(.webhook) && call.sources.contains(.history) {
                    result.historyOnly += 1
                    if call.applicationID == 0 { result.unlinked += 1 }
                    if result.historyOnlyCalls.count < Reconciliation.examples { result.historyOnlyCalls.append(callID) }
                } else {
                    return true
                }
                result.newestMismatch = max(result.newestMismatch ?? call.startedAt, call.startedAt)
                return true
            }
        }
        return result
    }

    /// Fetches the sessions with these ids (right after a call ends, so its cost, talk time and
    /// recording arrive in seconds rather than at the next sync). Returns how many were found:
    /// Voximplant may not list a session the moment it ends.
    @discardableResult
    public func fetch(accountID: UInt64, sessionIDs: [UInt64], around time: Date) throws -> Int {
        guard let account = try database.environment.read({ txn in try database.accounts.get(txn, accountID) }),
              account.active, !sessionIDs.isEmpty else { return 0 }
        let client = try upstreams.voximplant(account)
        let byVoxApp = try applicationIDs(accountID: accountID)
        let page = try client.callHistory(from: time - 86_400, to: min(time + 86_400, clock.now() + 60), offset: 0,
                                          count: sessionIDs.count, sessionIDs: sessionIDs)
        let wanted = Set(sessionIDs)
        let found = page.sessions.filter { wanted.contains($0.callSessionHistoryID) }
        try store(found, account: account, applications: byVoxApp)
        return found.count
    }

    /// The fetch-session job: the ended call's session, asked again while Voximplant does not
    /// list it yet (every 15 s for the first minute, then every minute), for five minutes at
    /// most; after that the scheduled sync brings it.
    public func fetchEnded(_ job: Job) throws -> JobRunner.Outcome {
        guard let callID = UInt64(job.payload),
              let call = try database.environment.read({ txn in try database.calls.get(txn, callID) }) else { return .done }
        let found = try fetch(accountID: call.accountID, sessionIDs: [call.voximplantSessionID], around: call.startedAt)
        let waited = clock.now().timeIntervalSince(call.endedAt ?? call.startedAt)
        guard found == 0, waited < 5 * 60 else { return .done }
        return .later(waited < 60 ? 15 : 60)
    }

    /// What one `store` changed.
    struct Tally {
        var inserted = 0
        var updated = 0
        /// The newest start time among the calls stored.
        var newest: Date?
    }

    /// Upserts sessions as calls in one transaction; a recording not archived yet gets its
    /// job. `progress` runs in the same transaction, so what it records commits with them.
    private func store(_ sessions: [VoximplantCallSession], account: Account, applications: [UInt64: UInt64],
                       progress: (WriteTransaction, Tally) throws -> Void = { _, _ in }) throws {
        let calls = sessions.compactMap { CallSync.call(from: $0, account: account, applications: applications) }
        try database.environment.write { txn in
            let store = CallStore(database: database)
            var tally = Tally(newest: calls.map(\.startedAt).max())
            for call in calls {
                let result = try store.upsert(call, in: txn)
                switch result {
                case .inserted: tally.inserted += 1
                case .updated: tally.updated += 1
                case .unchanged: continue
                }
                // A recording Voximplant has and we have not archived yet.
                if call.recordingURL != nil, try database.calls.get(txn, result.callID)?.recording == nil {
                    try RecordingJobs.enqueueArchive(callID: result.callID, jobs: jobs, in: txn)
                }
            }
            try progress(txn, tally)
        }
    }

    /// Our application id for each Voximplant application id of the account: a call is filed
    /// under the application it ran in.
    private func applicationIDs(accountID: UInt64) throws -> [UInt64: UInt64] {
        let applications = try database.environment.read { txn in
            try database.applications.entries(txn).map(\.value).filter { $0.accountID == accountID }
        }
        return Dictionary(applications.compactMap { app in app.voximplantApplicationID.map { ($0, app.id) } },
                          uniquingKeysWith: { a, _ in a })
    }

    private func save(_ state: SyncState, _ accountID: UInt64) throws {
        try database.environment.write { txn in try database.syncStates.put(txn, accountID, state) }
    }

    /// Where the next page of call history starts: a time, the sessions of that second already
    /// stored, and an offset that is not zero only inside one crowded second.
    struct PagingWindow {
        private(set) var from: Date
        private(set) var offset = 0
        private var seenAtFrom: Set<UInt64> = []

        init(from: Date) { self.from = from }

        /// The sessions not stored yet (a page starting at `from` repeats that second's).
        func unseen(_ sessions: [VoximplantCallSession]) -> [VoximplantCallSession] {
            sessions.filter { !seenAtFrom.contains($0.callSessionHistoryID) }
        }

        /// Moves past a full page.
        mutating func advance(past sessions: [VoximplantCallSession]) throws {
            guard let newest = sessions.compactMap(\.startedAt).max() else {
                throw VoximplantError.malformed(method: "GetCallHistory (a page without start dates)")
            }
            let atNewest = sessions.filter { $0.startedAt == newest }.map(\.callSessionHistoryID)
            if newest > from {
                from = newest
                offset = 0
                seenAtFrom = Set(atNewest)
            } else {
                // The whole page started in the second `from`: page on inside it.
                offset += sessions.count
                seenAtFrom.formUnion(atNewest)
                guard offset <= VoximplantClient.maxHistoryOffset else {
                    throw VoximplantError.api(code: 497, message: "more than 10,000 calls started at \(VoximplantTime.format(from)) UTC; GetCallHistory cannot page past them")
                }
            }
        }
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
        // No total field exists: the cost is the legs', the records' and the other resources'
        // (apiclient-nodejs src/Structures.ts CallSessionInfoType has no total_cost).
        func micros(_ values: [FlexibleNumber?]) -> Int64? {
            Money(decimal: values.compactMap { $0?.value }.reduce(0, +), currency: account.currency)?.micros
        }
        guard let telephony = micros(legs.map(\.cost)), let recording = micros((session.records ?? []).map(\.cost)),
              let other = micros((session.otherResourceUsage ?? []).map(\.cost)) else { return nil }
        let split = CostBreakdown(telephonyMicros: telephony, recordingMicros: recording, otherMicros: other)
        // Talk time is the caller's leg (`calls[].duration`, "Call duration in seconds"); the
        // session's `duration` is the whole JS session, agent set-up included.
        guard let total = split.totalMicros,
              let duration = (leg?.duration ?? session.duration ?? FlexibleNumber(0)).integer(in: 0...(7 * 86_400)) else { return nil }
        let cost = Money(micros: total, currency: account.currency)
        var call = Call(
            ownerUserID: account.ownerUserID, accountID: account.id,
            applicationID: session.applicationID.flatMap { applications[$0] } ?? 0,
            voximplantSessionID: session.callSessionHistoryID, direction: incoming ? .inbound : .outbound,
            fromNumber: incoming ? remote : local, toNumber: incoming ? local : remote, startedAt: started,
            endedAt: started + Double(duration), durationSeconds: duration,
            cost: cost, status: status, finishReason: session.finishReason,
            recordingURL: session.records?.first?.recordURL ?? leg?.recordURL, costBreakdown: split)
        call.sources = .history
        return call
    }
}

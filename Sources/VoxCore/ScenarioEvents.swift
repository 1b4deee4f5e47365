import Foundation
import KVStore

/// An event posted by a generated scenario to `/api/webhook/voximplant` (see
/// `ScenarioGenerator`). Field names are the scenario's own.
public struct ScenarioEvent: Sendable, Equatable {
    /// `call_ended` reasons that make the call failed whatever its duration: the call leg
    /// failed, or the ElevenLabs agent could not start or lost its connection (the scenario
    /// then ends the call; see ScenarioGenerator).
    public static let failureReasons: Set<String> = ["failed", "agent_failed", "agent_error"]

    public enum Kind: String, Sendable {
        case callStarted = "call_started"
        case conversationStarted = "conversation_started"
        case recordingStarted = "recording_started"
        case callEnded = "call_ended"
    }

    public var type: Kind
    public var applicationID: UInt64
    public var sessionID: UInt64
    /// Milliseconds since the epoch, from the scenario's clock.
    public var sentAt: Int64
    public var from: String?
    public var to: String?
    public var direction: String?
    public var duration: Int?
    public var reason: String?
    public var conversationID: String?
    public var recordingURL: String?

    /// Why a body is not an event, in words for the 400 that says so.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads an event from its JSON body (see `JSONFields` for why not `JSONDecoder`). Fields
    /// the scenario does not send yet are ignored; a known field of the wrong type is refused.
    public init(json: [UInt8]) throws(Invalid) {
        let fields: JSONFields
        do { fields = try JSONFields(json) } catch { throw Invalid(description: "not valid JSON: \(error)") }
        guard case let .string(name)? = fields["type"] else { throw Invalid(description: "missing field 'type'") }
        guard let type = Kind(rawValue: name) else { throw Invalid(description: "at type: unknown event type '\(name)'") }
        self.type = type
        applicationID = try Self.id(fields, "application_id")
        sessionID = try Self.id(fields, "session_id")
        let sent = try Self.id(fields, "sent_at")
        guard let sentAt = Int64(exactly: sent), Time.accepted.contains(Date(timeIntervalSince1970: Double(sentAt) / 1000)) else {
            throw Invalid(description: "at sent_at: expected milliseconds since 1970 between the years 2000 and 2200")
        }
        self.sentAt = sentAt
        // Lengths far above anything real, so that a signed but hostile event cannot store
        // megabytes per call.
        from = try Self.text(fields, "from", max: 64)
        to = try Self.text(fields, "to", max: 64)
        direction = try Self.text(fields, "direction", max: 16)
        reason = try Self.text(fields, "reason", max: 256)
        conversationID = try Self.text(fields, "conversation_id", max: 128)
        recordingURL = try Self.text(fields, "recording_url", max: 2048)
        switch fields["duration"] {
        case nil, .null?: duration = nil
        case let .number(text)?:
            guard let seconds = Int(text), seconds >= 0, seconds < 7 * 86_400 else {
                throw Invalid(description: "at duration: expected whole seconds under a week")
            }
            duration = seconds
        default: throw Invalid(description: "at duration: expected a number")
        }
    }

    /// VoxEngine numbers may arrive as JSON numbers or strings; both are accepted for ids.
    private static func id(_ fields: JSONFields, _ key: String) throws(Invalid) -> UInt64 {
        switch fields[key] {
        case let .number(text)?, let .string(text)?:
            guard let value = UInt64(text) else { throw Invalid(description: "at \(key): expected a whole number") }
            return value
        case nil: throw Invalid(description: "missing field '\(key)'")
        default: throw Invalid(description: "at \(key): expected a number")
        }
    }

    private static func text(_ fields: JSONFields, _ key: String, max: Int) throws(Invalid) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case let .string(text)?:
            guard text.utf8.count <= max else { throw Invalid(description: "at \(key): longer than \(max) bytes") }
            return text
        default: throw Invalid(description: "at \(key): expected a string")
        }
    }
}

/// Applies scenario events to calls. Events may repeat and arrive in any order; applying the
/// same event twice changes nothing, and a later event never undoes what an earlier one
/// established (a call that ended stays ended).
public struct ScenarioEventIngest: Sendable {
    let database: Database
    let store: CallStore
    let jobs: JobQueue


    public init(database: Database, jobs: JobQueue) {
        self.database = database
        self.store = CallStore(database: database)
        self.jobs = jobs
    }

    public enum Failure: Error, Equatable {
        case unknownApplication
    }

    /// What applying an event did.
    public struct Applied: Sendable, Equatable {
        public let callID: UInt64
        /// Whether follow-up jobs were enqueued: then the job runner wants waking once the
        /// commit is durable. Most events enqueue nothing, and a wake-up per event had the
        /// runner's threads polling the queue behind every commit.
        public let enqueuedJobs: Bool
    }

    /// Writes the event's effect and the follow-up jobs in `txn`.
    @discardableResult
    public func apply(_ event: ScenarioEvent, in txn: WriteTransaction) throws -> Applied {
        guard let application = try database.applicationCache.get(txn, event.applicationID),
              let account = try database.accountCache.get(txn, application.accountID) else { throw Failure.unknownApplication }
        let sentAt = Date(timeIntervalSince1970: Double(event.sentAt) / 1000)
        // Only this application's account is searched: an event signed by one tenant's
        // application can never reach another tenant's call with the same session id.
        let existing = try store.existing(account: account.id, session: event.sessionID, in: txn)
        var call = existing ?? Call(
            ownerUserID: account.ownerUserID, accountID: account.id, applicationID: application.id,
            voximplantSessionID: event.sessionID, direction: .inbound, fromNumber: "", toNumber: application.phoneNumber,
            startedAt: sentAt, status: .inProgress)
        call.sources.insert(.webhook)
        switch event.type {
        case .callStarted:
            call.startedAt = sentAt
            if let from = event.from, !from.isEmpty { call.fromNumber = from }
            if let to = event.to, !to.isEmpty { call.toNumber = to }
            if event.direction == "outbound" { call.direction = .outbound }
        case .conversationStarted:
            call.conversationID = call.conversationID ?? event.conversationID
        case .recordingStarted:
            call.recordingURL = event.recordingURL ?? call.recordingURL
        case .callEnded:
            let duration = event.duration ?? 0
            call.endedAt = sentAt
            call.durationSeconds = duration
            call.finishReason = event.reason
            call.conversationID = call.conversationID ?? event.conversationID
            call.status = ScenarioEvent.failureReasons.contains(event.reason ?? "") ? .failed : duration > 0 ? .answered : .noAnswer
            if existing == nil { call.startedAt = sentAt - Double(duration) }
        }
        if let existing, existing.status != .inProgress, call.status == .inProgress { call.status = existing.status }
        let result = try store.upsert(call, existing: existing, in: txn)
        let id = result.callID
        // Follow-ups start once the call has ended and know what they need; an event that
        // changed nothing (a repeat) enqueues nothing.
        let followsUp = event.type == .callEnded || existing?.endedAt != nil
        var enqueued = false
        if followsUp, result != .unchanged(id) {
            if event.type == .callEnded {
                // Voximplant lists a session moments after it ends: ask shortly after.
                try jobs.enqueue(kind: .fetchSession, payload: String(id), dedupeKey: "session:\(id)", delay: 5, in: txn)
            }
            if call.conversationID != nil {
                try jobs.enqueue(kind: .fetchTranscript, payload: String(id), dedupeKey: "transcript:\(id)", in: txn)
                enqueued = true
            }
            if call.recording == nil, call.recordingURL != nil || call.conversationID != nil {
                try RecordingJobs.enqueueArchive(callID: id, jobs: jobs, in: txn)
                enqueued = true
            }
        }
        return Applied(callID: id, enqueuedJobs: enqueued)
    }
}

import Foundation
import KVStore

/// An event posted by a generated scenario to `/api/webhook/voximplant` (see
/// `ScenarioGenerator`). Field names are the scenario's own.
public struct ScenarioEvent: Decodable, Sendable, Equatable {
    public enum Kind: String, Decodable, Sendable {
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

    enum CodingKeys: String, CodingKey {
        case type, from, to, direction, duration, reason
        case applicationID = "application_id", sessionID = "session_id", sentAt = "sent_at"
        case conversationID = "conversation_id", recordingURL = "recording_url"
    }

    /// VoxEngine numbers may arrive as JSON numbers or strings; both are accepted for ids.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(Kind.self, forKey: .type)
        applicationID = try ScenarioEvent.number(c, .applicationID)
        sessionID = try ScenarioEvent.number(c, .sessionID)
        sentAt = Int64(try ScenarioEvent.number(c, .sentAt))
        from = try c.decodeIfPresent(String.self, forKey: .from)
        to = try c.decodeIfPresent(String.self, forKey: .to)
        direction = try c.decodeIfPresent(String.self, forKey: .direction)
        duration = try c.decodeIfPresent(Int.self, forKey: .duration)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        conversationID = try c.decodeIfPresent(String.self, forKey: .conversationID)
        recordingURL = try c.decodeIfPresent(String.self, forKey: .recordingURL)
        guard duration.map({ $0 >= 0 && $0 < 7 * 86_400 }) ?? true else {
            throw DecodingError.dataCorruptedError(forKey: .duration, in: c, debugDescription: "out of range")
        }
    }

    static func number(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> UInt64 {
        if let value = try? c.decode(UInt64.self, forKey: key) { return value }
        if let text = try? c.decode(String.self, forKey: key), let value = UInt64(text) { return value }
        throw DecodingError.typeMismatch(UInt64.self, .init(codingPath: [key], debugDescription: "expected a number"))
    }
}

/// Applies scenario events to calls. Events may repeat and arrive in any order; applying the
/// same event twice changes nothing, and a later event never undoes what an earlier one
/// established (a call that ended stays ended).
public struct ScenarioEventIngest: Sendable {
    let database: Database
    let store: CallStore
    let jobs: JobQueue

    public static let transcriptJob = "fetch-transcript"

    public init(database: Database, jobs: JobQueue) {
        self.database = database
        self.store = CallStore(database: database)
        self.jobs = jobs
    }

    public enum Failure: Error, Equatable {
        case unknownApplication
    }

    /// Writes the event's effect and the follow-up jobs in `txn`. Returns the call id.
    @discardableResult
    public func apply(_ event: ScenarioEvent, in txn: WriteTransaction) throws -> UInt64 {
        guard let application = try database.applicationCache.get(txn, event.applicationID),
              let account = try database.accountCache.get(txn, application.accountID) else { throw Failure.unknownApplication }
        let sentAt = Date(timeIntervalSince1970: Double(event.sentAt) / 1000)
        let existing = try database.callsByVoximplantID.get(txn, event.sessionID).flatMap { try database.calls.get(txn, $0) }
        var call = existing ?? Call(
            ownerUserID: account.ownerUserID, accountID: account.id, applicationID: application.id,
            voximplantSessionID: event.sessionID, direction: .inbound, fromNumber: "", toNumber: application.phoneNumber,
            startedAt: sentAt, status: .inProgress)
        switch event.type {
        case .callStarted:
            call.startedAt = sentAt
            if let from = event.from, !from.isEmpty { call.fromNumber = from }
            if let to = event.to, !to.isEmpty { call.toNumber = to }
            if event.direction == "outbound" { call.direction = .outbound }
        case .conversationStarted:
            call.conversationID = event.conversationID ?? call.conversationID
        case .recordingStarted:
            call.recordingURL = event.recordingURL ?? call.recordingURL
        case .callEnded:
            let duration = event.duration ?? 0
            call.endedAt = sentAt
            call.durationSeconds = duration
            call.finishReason = event.reason
            call.conversationID = event.conversationID ?? call.conversationID
            call.status = event.reason == "failed" ? .failed : duration > 0 ? .answered : .noAnswer
            if existing == nil { call.startedAt = sentAt - Double(duration) }
        }
        if let existing, existing.status != .inProgress, call.status == .inProgress { call.status = existing.status }
        let result = try store.upsert(call, in: txn)
        let id = result.callID
        // Follow-ups start once the call has ended and know what they need; an event that
        // changed nothing (a repeat) enqueues nothing.
        let followsUp = event.type == .callEnded || existing?.endedAt != nil
        if followsUp, result != .unchanged(id) {
            if call.conversationID != nil {
                try jobs.enqueue(kind: ScenarioEventIngest.transcriptJob, payload: String(id), dedupeKey: "transcript:\(id)", in: txn)
            }
            if call.recording == nil, call.recordingURL != nil || call.conversationID != nil {
                try RecordingJobs.enqueueArchive(callID: id, jobs: jobs, in: txn)
            }
        }
        return id
    }
}

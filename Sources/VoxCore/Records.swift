import Foundation

/// A Voximplant account connected by a user (its owner: the tenant of its calls).
public struct Account: Codable, Sendable, Equatable {
    public var id: UInt64
    public var ownerUserID: UInt64
    public var voximplantAccountID: String
    public var name: String
    public var active: Bool
    /// ISO code of the account's billing currency, as Voximplant reports it.
    public var currency: String
    /// The API key, sealed by the vault; nil until one is saved. Never plaintext.
    public var apiKeySealed: [UInt8]?
    public var createdAt: Date
    /// The service-account key file (JSON with the RSA private key), sealed; preferred over
    /// the API key when both are saved.
    public var serviceAccountSealed: [UInt8]?
    /// The service-account key's id, to show which key is saved (not a secret).
    public var serviceAccountKeyID: String?
    /// The API base URL Voximplant prefers for the account (`api_address`), already checked
    /// against the allow-list when it was stored.
    public var apiBaseURL: String?

    /// Whether the account can sign in to Voximplant at all (a service account or an API key).
    public var hasCredentials: Bool { serviceAccountSealed != nil || apiKeySealed != nil }

    public init(id: UInt64, ownerUserID: UInt64, voximplantAccountID: String, name: String, active: Bool = true,
                currency: String = "USD", apiKeySealed: [UInt8]? = nil, createdAt: Date = Date()) {
        self.id = id
        self.ownerUserID = ownerUserID
        self.voximplantAccountID = voximplantAccountID
        self.name = name
        self.active = active
        self.currency = currency
        self.apiKeySealed = apiKeySealed
        self.createdAt = createdAt
    }
}

/// A phone number linked to an ElevenLabs agent through a Voximplant application.
public struct Application: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case draft, deployed, failed, disabled
    }

    public var id: UInt64
    public var accountID: UInt64
    public var name: String
    public var voximplantApplicationID: UInt64?
    public var voximplantRuleID: UInt64?
    public var elevenLabsAgentID: String
    public var phoneNumber: String
    public var scenarioCode: String
    public var status: Status
    /// The secret that signs this application's webhook events, sealed by the vault.
    public var webhookSecretSealed: [UInt8]?
    public var createdAt: Date
    /// The ElevenLabs key the scenario uses to reach the agent.
    public var elevenLabsKeyID: UInt64?
    public var voximplantScenarioID: UInt64?
    /// Record calls in the scenario.
    public var record: Bool?
    /// The outcome of the last "Deploy to Voximplant", step by step.
    public var lastDeployment: [String]?
    /// Ask Voximplant to keep this application's recordings in secure storage (downloads then
    /// need the service account's token). Nil on applications from before the option: off.
    public var secureRecordStorage: Bool?
    /// After a recording is archived here, delete Voximplant's copy (privacy; one copy to pay for).
    public var deleteVoximplantRecordings: Bool?
    /// When retention deletes a call's recording, delete its ElevenLabs conversation too.
    public var deleteElevenLabsConversations: Bool?

    public init(id: UInt64, accountID: UInt64, name: String, elevenLabsAgentID: String, phoneNumber: String,
                voximplantApplicationID: UInt64? = nil, voximplantRuleID: UInt64? = nil, scenarioCode: String = "",
                status: Status = .draft, webhookSecretSealed: [UInt8]? = nil, createdAt: Date = Date()) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.elevenLabsAgentID = elevenLabsAgentID
        self.phoneNumber = phoneNumber
        self.voximplantApplicationID = voximplantApplicationID
        self.voximplantRuleID = voximplantRuleID
        self.scenarioCode = scenarioCode
        self.status = status
        self.webhookSecretSealed = webhookSecretSealed
        self.createdAt = createdAt
    }
}

public enum CallStatus: UInt8, Codable, Sendable, CaseIterable, Comparable {
    case answered = 1
    case failed = 2
    case busy = 3
    case noAnswer = 4
    case inProgress = 5

    public var name: String {
        switch self {
        case .answered: "answered"
        case .failed: "failed"
        case .busy: "busy"
        case .noAnswer: "no-answer"
        case .inProgress: "in-progress"
        }
    }

    public init?(name: String) {
        guard let status = CallStatus.allCases.first(where: { $0.name == name }) else { return nil }
        self = status
    }

    public static func < (a: CallStatus, b: CallStatus) -> Bool { a.rawValue < b.rawValue }
}

public enum Direction: String, Codable, Sendable {
    case inbound, outbound
}

/// Money in millionths of a currency unit: Voximplant reports costs like 0.0123, and
/// summing floats over a million calls drifts.
public struct Money: Codable, Sendable, Equatable, Hashable {
    public var micros: Int64
    public var currency: String

    public init(micros: Int64, currency: String) {
        self.micros = micros
        self.currency = currency
    }

    /// Nil for an amount that is not finite or not within ±10^12 units: no real call costs
    /// that, and the sums of a million calls must not overflow.
    public init?(decimal: Double, currency: String) {
        let micros = (decimal * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) <= 1e18 else { return nil }
        self.init(micros: Int64(micros), currency: currency)
    }

    public var decimal: Double { Double(micros) / 1_000_000 }
}

/// Where an archived recording lives: which store, under which key, and what it is. Set
/// only after the object was uploaded completely, so a call never points at nothing.
public struct RecordingRef: Codable, Sendable, Equatable {
    /// Which store holds it (`RecordingRef.localStore` or `RecordingRef.s3Store`): recordings
    /// archived before the operator switched stores still play from where they are.
    public var store: String
    public var key: String
    public var size: Int64
    public var contentType: String
    /// Hex SHA-256 of the bytes, taken while downloading from the source.
    public var sha256: String

    /// A store is named by the storage kind it was chosen as (`StorageSettings.Kind`).
    public static let localStore = StorageSettings.Kind.local.rawValue
    public static let s3Store = StorageSettings.Kind.s3.rawValue

    public init(store: String, key: String, size: Int64, contentType: String, sha256: String) {
        self.store = store
        self.key = key
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
    }
}

public struct Call: Codable, Sendable, Equatable {
    public var id: UInt64
    /// The tenant: the owner of the call's account. Denormalized so that every index can start with it.
    public var ownerUserID: UInt64
    public var accountID: UInt64
    public var applicationID: UInt64
    /// Voximplant's `call_session_history_id`: the identity used to upsert.
    public var voximplantSessionID: UInt64
    public var conversationID: String?
    public var direction: Direction
    /// As received (for display).
    public var fromNumber: String
    public var toNumber: String
    public var startedAt: Date
    public var endedAt: Date?
    public var durationSeconds: Int
    public var cost: Money?
    public var status: CallStatus
    /// Voximplant's reason text ("Normal termination", "Busy").
    public var finishReason: String?
    /// Voximplant's recording URL while not archived yet.
    public var recordingURL: String?
    public var recording: RecordingRef?
    public var hasTranscript: Bool
    /// `cost` split by what Voximplant billed; nil where only a total is known (a live event).
    public var costBreakdown: CostBreakdown?
    /// Why the archived recording is not Voximplant's, or why there is none: shown on the call
    /// page (e.g. Voximplant refused a secure-storage download, ElevenLabs' audio was kept).
    public var recordingNote: String?
    /// Where this call was seen: a scenario's webhook events, Voximplant's call history, or
    /// both. Reconciliation reads it (empty for calls stored before version 5 of the codec).
    public var sources: CallSources = []

    public init(
        id: UInt64 = 0, ownerUserID: UInt64, accountID: UInt64, applicationID: UInt64, voximplantSessionID: UInt64,
        conversationID: String? = nil, direction: Direction, fromNumber: String, toNumber: String, startedAt: Date,
        endedAt: Date? = nil, durationSeconds: Int = 0, cost: Money? = nil, status: CallStatus,
        finishReason: String? = nil, recordingURL: String? = nil, recording: RecordingRef? = nil,
        hasTranscript: Bool = false, costBreakdown: CostBreakdown? = nil, recordingNote: String? = nil
    ) {
        self.id = id
        self.ownerUserID = ownerUserID
        self.accountID = accountID
        self.applicationID = applicationID
        self.voximplantSessionID = voximplantSessionID
        self.conversationID = conversationID
        self.direction = direction
        self.fromNumber = fromNumber
        self.toNumber = toNumber
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.durationSeconds = durationSeconds
        self.cost = cost
        self.status = status
        self.finishReason = finishReason
        self.recordingURL = recordingURL
        self.recording = recording
        self.hasTranscript = hasTranscript
        self.costBreakdown = costBreakdown
        self.recordingNote = recordingNote
    }

    public var fromDigits: String { PhoneNumber.digits(fromNumber) }
    public var toDigits: String { PhoneNumber.digits(toNumber) }
    public var startMicros: UInt64 { Time.micros(startedAt) }
}

public struct CallSources: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let webhook = CallSources(rawValue: 1)
    public static let history = CallSources(rawValue: 2)
}

/// A call's cost by what it was for, in micros of the call's currency: the call legs
/// (`calls[].cost`), the recording (`records[].cost`) and the session's other resources
/// (`other_resource_usage[].cost`: the JS session, speech recognition, …). Voximplant has no
/// total field: the three add up to the call's cost.
public struct CostBreakdown: Codable, Sendable, Equatable {
    public var telephonyMicros: Int64
    public var recordingMicros: Int64
    public var otherMicros: Int64

    public init(telephonyMicros: Int64, recordingMicros: Int64, otherMicros: Int64) {
        self.telephonyMicros = telephonyMicros
        self.recordingMicros = recordingMicros
        self.otherMicros = otherMicros
    }

    /// The sum, or nil if it overflows (amounts come from outside).
    public var totalMicros: Int64? {
        let (partial, first) = telephonyMicros.addingReportingOverflow(recordingMicros)
        let (total, second) = partial.addingReportingOverflow(otherMicros)
        return first || second ? nil : total
    }
}

public struct Transcript: Codable, Sendable, Equatable {
    public struct Turn: Codable, Sendable, Equatable {
        public var role: String
        public var text: String
        public var secondsIntoCall: Int

        public init(role: String, text: String, secondsIntoCall: Int) {
            self.role = role
            self.text = text
            self.secondsIntoCall = secondsIntoCall
        }
    }

    public var conversationID: String
    public var turns: [Turn]
    public var summary: String?
    /// ElevenLabs' analysis verdict: success, failure or unknown.
    public var successVerdict: String?
    /// The ElevenLabs key (its webhook or its API) it came through; nil for transcripts stored
    /// before schema 4. Only calls whose application uses that key may show it.
    public var elevenLabsKeyID: UInt64?
    /// When it first arrived here: orphans (no call yet) are purged by age.
    public var receivedAt: Date?

    public init(conversationID: String, turns: [Turn], summary: String? = nil, successVerdict: String? = nil) {
        self.conversationID = conversationID
        self.turns = turns
        self.summary = summary
        self.successVerdict = successVerdict
    }
}

public enum Time {
    /// The instants accepted from outside (event timestamps, upstream records): 2000-01-01 to
    /// 2200-01-01. Anything else is refused where it comes in, with a message, so that no
    /// arithmetic on times further on can overflow.
    public static let accepted: ClosedRange<Date> = Date(timeIntervalSince1970: 946_684_800)...Date(timeIntervalSince1970: 7_258_118_400)

    /// Saturating: a time before 1970 is 0, one beyond UInt64's range its maximum, NaN is 0.
    /// Inputs are range-checked where they come in; this only guarantees no trap.
    public static func micros(_ date: Date) -> UInt64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard value > 0 else { return 0 }
        return value < 18_446_744_073_709_551_615 ? UInt64(value) : .max
    }

    public static func date(micros: UInt64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}

/// An ElevenLabs API key a user saved (write-only: the page shows it masked).
public struct ElevenLabsKey: Codable, Sendable, Equatable {
    public var id: UInt64
    public var ownerUserID: UInt64
    public var name: String
    public var apiKeySealed: [UInt8]
    /// Base URL of the API (a regional host, or a test server).
    public var baseURL: String
    public var createdAt: Date
    /// The HMAC secret of the workspace's post-call webhook, sealed; nil when not set up.
    public var webhookSecretSealed: [UInt8]?
    /// The token of this key's own webhook URL (`/api/webhook/elevenlabs/<token>`), sealed so
    /// that the Setup page can show the URL again; LMDB indexes only its SHA-256.
    public var webhookTokenSealed: [UInt8]?
    /// The workspace webhook this server created for the key ("Set up at ElevenLabs"), if any.
    public var workspaceWebhookID: String?

    public init(id: UInt64, ownerUserID: UInt64, name: String, apiKeySealed: [UInt8], baseURL: String, createdAt: Date = Date()) {
        self.id = id
        self.ownerUserID = ownerUserID
        self.name = name
        self.apiKeySealed = apiKeySealed
        self.baseURL = baseURL
        self.createdAt = createdAt
    }
}

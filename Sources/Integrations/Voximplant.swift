import Essentials
import Foundation
import HTTPTransport

/// Voximplant's management HTTP API (`…/platform_api/<Method>/`), as documented in Voximplant's
/// HTTP API reference (https://voximplant.com/docs/references/httpapi); method and field names also in
/// the official SDKs, voximplant/apiclient-nodejs `src/index.ts` and voximplant/apiclient-python
/// `src/voximplant/apiclient/client.py`.
///
/// Two ways to authenticate. A service-account key (what Voximplant now issues; both SDKs use
/// only this) signs a short-lived JWT per request, sent as `Authorization: Bearer`. The older
/// `account_id` + `api_key` (called deprecated, "still work") travel in the POST form body,
/// never the URL, so that no access log or proxy records the key. Every answer is JSON;
/// failures come as HTTP 200 with `{"error": {"code", "msg"}}`, so the body decides, not the status.
public final class VoximplantClient: Sendable {
    public struct Credentials: Sendable {
        public enum Method: Sendable {
            case apiKey(String)
            case serviceAccount(VoximplantServiceAccount)
        }

        public var accountID: String
        public var method: Method

        public init(accountID: String, apiKey: String) {
            self.accountID = accountID
            method = .apiKey(apiKey)
        }

        public init(serviceAccount: VoximplantServiceAccount) {
            accountID = String(serviceAccount.accountID)
            method = .serviceAccount(serviceAccount)
        }
    }

    public static let defaultBaseURL = "https://api.voximplant.com/platform_api"

    let baseURL: String
    let credentials: Credentials
    let http: HTTPClient

    let now: @Sendable () -> Date

    public init(baseURL: String = defaultBaseURL, credentials: Credentials, http: HTTPClient,
                now: @escaping @Sendable () -> Date = Date.init) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.credentials = credentials
        self.http = http
        self.now = now
    }

    /// `Authorization` for a request to Voximplant on this account's behalf (a secure-storage
    /// recording, say), or nil for an API-key account, which has no token to give.
    public func bearerAuthorization() throws -> String? {
        guard case let .serviceAccount(key) = credentials.method else { return nil }
        return "Bearer " + (try key.token(at: now()))
    }

    // MARK: Methods the product uses

    /// The account, with `api_address` from beside the result (apiclient-nodejs `src/index.ts`
    /// getAccountInfo's response mapper reads `api_address` at the top level).
    public func accountInfo() throws -> VoximplantAccountInfo {
        let envelope = try call("GetAccountInfo", [], as: AccountInfoEnvelope.self)
        var info = envelope.result
        info.apiAddress = envelope.apiAddress
        return info
    }

    public func applications() throws -> [VoximplantApplication] {
        try call("GetApplications", [("count", "1000")], as: ListEnvelope<VoximplantApplication>.self).result
    }

    public func phoneNumbers() throws -> [VoximplantPhoneNumber] {
        try call("GetPhoneNumbers", [("count", "1000")], as: ListEnvelope<VoximplantPhoneNumber>.self).result
    }

    public func scenarios() throws -> [VoximplantScenario] {
        try call("GetScenarios", [("count", "1000")], as: ListEnvelope<VoximplantScenario>.self).result
    }

    public func rules(applicationID: UInt64) throws -> [VoximplantRule] {
        try call("GetRules", [("application_id", String(applicationID))], as: ListEnvelope<VoximplantRule>.self).result
    }

    /// GetCallHistory's limits: `count` "The maximum value is 1000", `offset` "The maximum
    /// value of 10000" (apiclient-nodejs `src/Interfaces.ts`, GetCallHistoryRequest). Paging
    /// deeper than the offset cap is the caller's job: move `from` forward instead.
    public static let maxHistoryCount = 1000
    public static let maxHistoryOffset = 10_000

    /// One page of call history, oldest first. Times are sent and read in UTC
    /// (`timezone=Etc/GMT`, as apiclient-nodejs `examples/History/getCallHistory_1.js` does).
    /// `with_total_count=false` (the total costs Voximplant a count; the caller stops on a short
    /// page instead), `with_other_resources=true` for the session's full cost.
    public func callHistory(from: Date, to: Date, offset: Int, count: Int = maxHistoryCount, withCalls: Bool = true,
                            withRecords: Bool = true, applicationID: UInt64? = nil,
                            sessionIDs: [UInt64] = []) throws -> VoximplantCallHistoryPage {
        guard (0...Self.maxHistoryOffset).contains(offset) else {
            throw VoximplantError.api(code: 497, message: "offset \(offset) is beyond GetCallHistory's 10000")
        }
        var parameters = [
            ("from_date", VoximplantTime.format(from)), ("to_date", VoximplantTime.format(to)), ("timezone", "Etc/GMT"),
            ("offset", String(offset)), ("count", String(min(max(count, 1), Self.maxHistoryCount))),
            ("with_calls", withCalls ? "true" : "false"), ("with_records", withRecords ? "true" : "false"),
            ("with_other_resources", "true"), ("with_total_count", "false"),
        ]
        if let applicationID { parameters.append(("application_id", String(applicationID))) }
        if !sessionIDs.isEmpty { parameters.append(("call_session_history_id", sessionIDs.map(String.init).joined(separator: ";"))) }
        let page = try call("GetCallHistory", parameters, as: ListEnvelope<VoximplantCallSession>.self)
        return VoximplantCallHistoryPage(sessions: page.result)
    }

    public func addScenario(name: String, script: String) throws -> UInt64 {
        try call("AddScenario", [("scenario_name", name), ("scenario_script", script), ("rewrite", "true")],
                 as: CreatedEnvelope.self).id(for: "scenario_id")
    }

    public func setScenarioScript(scenarioID: UInt64, script: String) throws {
        _ = try call("SetScenarioInfo", [("scenario_id", String(scenarioID)), ("scenario_script", script)], as: CreatedEnvelope.self)
    }

    /// `secure_record_storage`: recordings then need a JWT to download (AddApplicationRequest,
    /// apiclient-nodejs `src/Interfaces.ts`; "secure objects" in Voximplant's docs).
    public func addApplication(name: String, secureRecordStorage: Bool) throws -> UInt64 {
        try call("AddApplication", [("application_name", name), ("secure_record_storage", secureRecordStorage ? "true" : "false")],
                 as: CreatedEnvelope.self).id(for: "application_id")
    }

    public func setSecureRecordStorage(applicationID: UInt64, _ on: Bool) throws {
        _ = try call("SetApplicationInfo", [("application_id", String(applicationID)), ("secure_record_storage", on ? "true" : "false")],
                     as: CreatedEnvelope.self)
    }

    /// Deletes Voximplant's copy of a recording by its URL (DeleteRecordRequest takes
    /// `record_url` or `record_id`; answers `{"result": 1}`, src/Interfaces.ts).
    public func deleteRecord(url: String) throws {
        _ = try call("DeleteRecord", [("record_url", url)], as: CreatedEnvelope.self)
    }

    public func addRule(applicationID: UInt64, name: String, pattern: String, scenarioID: UInt64) throws -> UInt64 {
        try call("AddRule", [("application_id", String(applicationID)), ("rule_name", name), ("rule_pattern", pattern),
                             ("scenario_id", String(scenarioID))], as: CreatedEnvelope.self).id(for: "rule_id")
    }

    public func bindPhoneNumber(_ phoneNumber: String, applicationID: UInt64, ruleID: UInt64) throws {
        _ = try call("BindPhoneNumberToApplication", [("phone_number", phoneNumber), ("application_id", String(applicationID)),
                                                        ("rule_id", String(ruleID)), ("bind", "true")], as: CreatedEnvelope.self)
    }

    /// Sets an application secret, creating it if it is new (AddSecret / SetSecretInfo /
    /// GetSecrets, apiclient-nodejs 4.8.0 `src/index.ts` `Secrets`; not in apiclient-python
    /// 2.2.0). A scenario reads it with `VoxEngine.getSecretValue(name)`.
    public func setSecret(applicationID: UInt64, name: String, value: String) throws {
        let app = ("application_id", String(applicationID))
        let existing = try call("GetSecrets", [app, ("secret_name_part", name)], as: ListEnvelope<VoximplantSecret>.self).result
        if existing.contains(where: { $0.secretName == name }) {
            _ = try call("SetSecretInfo", [app, ("secret_name", name), ("secret_value", value)], as: CreatedEnvelope.self)
        } else {
            _ = try call("AddSecret", [app, ("secret_name", name), ("secret_value", value)], as: SecretAdded.self)
        }
    }

    // MARK: Transport

    func call<T: Decodable>(_ method: String, _ parameters: [(String, String)], as type: T.Type) throws -> T {
        var fields = parameters
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        switch credentials.method {
        case let .apiKey(key):
            fields.insert(contentsOf: [("account_id", credentials.accountID), ("api_key", key)], at: 0)
        case .serviceAccount:
            // The SDKs send the token alone: the account is the token's `iss`.
            if let authorization = try bearerAuthorization() { headers.append(("Authorization", authorization)) }
        }
        let form = fields.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        let request = HTTPRequest(method: "POST", url: "\(baseURL)/\(method)/", headers: headers, body: Array(form.utf8))
        let response: HTTPResponse
        do {
            response = try http.send(request, limiterKey: "voximplant:\(credentials.accountID)")
        } catch let error as UpstreamError {
            throw VoximplantError.upstream(error)
        }
        if let failure = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(response.body)) {
            throw VoximplantError.from(code: failure.error.code, message: failure.error.msg ?? "")
        }
        guard (200..<300).contains(response.status) else {
            throw VoximplantError.http(status: response.status)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw VoximplantError.malformed(method: method)
        }
    }
}

/// Codable so that a deploy can store where it stopped and each reader see it in their language.
public enum VoximplantError: Error, Equatable, Codable, CustomStringConvertible {
    case authentication(String)
    case rateLimited
    case notFound(String)
    case api(code: Int, message: String)
    case http(status: Int)
    case malformed(method: String)
    case upstream(UpstreamError)

    /// Voximplant's documented error codes (voximplant.com/docs/references/httpapi/errors):
    /// 100 is "Authorization failed". The reference does not give a code for "too many
    /// requests" [?], so a message that says so is read as rate limiting too.
    static func from(code: Int, message: String) -> VoximplantError {
        let lower = message.lowercased()
        switch code {
        case 100: return .authentication(message)
        case _ where lower.contains("too many") || lower.contains("rate limit"): return .rateLimited
        case _ where lower.contains("not found") || lower.contains("no such") || lower.contains("invalid application_id"):
            return .notFound(message)
        default: return .api(code: code, message: message)
        }
    }

    /// What a page shows. Never contains a key: Voximplant's messages do not echo them.
    public var description: String {
        switch self {
        case .authentication: "Voximplant refused the credentials (wrong API key or service account key?)"
        case .rateLimited: "Voximplant is rate limiting us; retrying later"
        case let .notFound(message): "Voximplant: \(message)"
        case let .api(code, message): "Voximplant error \(code): \(message)"
        case let .http(status): "Voximplant answered HTTP \(status)"
        case let .malformed(method): "Voximplant sent an answer to \(method) that could not be read"
        case let .upstream(error): error.description
        }
    }
}

// MARK: - Response shapes (unknown fields are ignored; optional wherever the docs are unsure)

struct ErrorEnvelope: Decodable {
    struct Detail: Decodable {
        let code: Int
        let msg: String?
    }
    let error: Detail
}

struct ResultEnvelope<T: Decodable>: Decodable { let result: T }

struct ListEnvelope<T: Decodable>: Decodable {
    let result: [T]
    let count: Int?
    let totalCount: Int?

    enum CodingKeys: String, CodingKey {
        case result, count
        case totalCount = "total_count"
    }
}

/// Mutations answer `{"result": 1, "<name>_id": N}`.
struct CreatedEnvelope: Decodable {
    let values: [String: FlexibleNumber]

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Keeps the numeric members and skips the rest (`application_name` is text).
    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        var values: [String: FlexibleNumber] = [:]
        for key in container.allKeys {
            if let number = try? container.decode(FlexibleNumber.self, forKey: key) { values[key.stringValue] = number }
        }
        self.values = values
    }

    func id(for key: String) throws -> UInt64 {
        guard let id = values[key]?.integer(in: 1...UInt64.max) else { throw VoximplantError.malformed(method: key) }
        return id
    }
}

/// A number that may arrive as a JSON number or a numeric string. Always finite: "nan",
/// "inf" and numbers beyond Double's range do not decode.
public struct FlexibleNumber: Decodable, Sendable, Equatable {
    public let value: Double

    public init(_ value: Double) { self.value = value }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            value = number
        } else if let text = try? container.decode(String.self), let number = Double(text) {
            value = number
        } else if let flag = try? container.decode(Bool.self) {
            value = flag ? 1 : 0
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a number")
        }
        guard value.isFinite else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a finite number") }
    }

    /// The whole part as `T` if it lies in `range`, else nil: how a number from outside becomes
    /// an integer here, never with a conversion that can trap.
    public func integer<T: FixedWidthInteger>(in range: ClosedRange<T>) -> T? {
        guard let whole = T(exactly: value.rounded(.towardZero)), range.contains(whole) else { return nil }
        return whole
    }
}

struct AccountInfoEnvelope: Decodable {
    let result: VoximplantAccountInfo
    let apiAddress: String?
    enum CodingKeys: String, CodingKey { case result, apiAddress = "api_address" }
}

public struct VoximplantAccountInfo: Decodable, Sendable {
    public let accountID: FlexibleNumber?
    public let accountName: String?
    public let balance: FlexibleNumber?
    public let currency: String?
    /// The host Voximplant prefers for this account's API calls, unchecked (see `VoximplantAPIAddress`).
    public internal(set) var apiAddress: String?

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id", accountName = "account_name", balance, currency
    }
}

public struct VoximplantApplication: Decodable, Sendable {
    public let applicationID: UInt64
    public let applicationName: String

    enum CodingKeys: String, CodingKey {
        case applicationID = "application_id", applicationName = "application_name"
    }
}

public struct VoximplantPhoneNumber: Decodable, Sendable {
    public let phoneID: UInt64
    public let phoneNumber: String
    public let applicationID: UInt64?

    enum CodingKeys: String, CodingKey {
        case phoneID = "phone_id", phoneNumber = "phone_number", applicationID = "application_id"
    }
}

/// An entry of GetSecrets: the name is all `setSecret` needs (the list never carries values).
struct VoximplantSecret: Decodable {
    let secretName: String

    enum CodingKeys: String, CodingKey { case secretName = "secret_name" }
}

/// AddSecret answers `{"result": [{"secret_id": N}]}` (an array, src/Interfaces.ts AddSecretResponse).
struct SecretAdded: Decodable {
    struct Item: Decodable {
        let secretID: FlexibleNumber?
        enum CodingKeys: String, CodingKey { case secretID = "secret_id" }
    }
    let result: [Item]
}

public struct VoximplantScenario: Decodable, Sendable {
    public let scenarioID: UInt64
    public let scenarioName: String

    enum CodingKeys: String, CodingKey {
        case scenarioID = "scenario_id", scenarioName = "scenario_name"
    }
}

public struct VoximplantRule: Decodable, Sendable {
    public let ruleID: UInt64
    public let ruleName: String
    public let rulePattern: String?

    enum CodingKeys: String, CodingKey {
        case ruleID = "rule_id", ruleName = "rule_name", rulePattern = "rule_pattern"
    }
}

public struct VoximplantCallHistoryPage: Sendable {
    public let sessions: [VoximplantCallSession]
}

public struct VoximplantCallSession: Decodable, Sendable {
    public let callSessionHistoryID: UInt64
    public let applicationID: UInt64?
    public let applicationName: String?
    public let startDate: String?
    public let duration: FlexibleNumber?
    public let finishReason: String?
    public let customData: String?
    public let calls: [VoximplantCall]?
    public let records: [VoximplantRecord]?
    public let otherResourceUsage: [VoximplantResourceUsage]?

    enum CodingKeys: String, CodingKey {
        case callSessionHistoryID = "call_session_history_id", applicationID = "application_id",
             applicationName = "application_name", startDate = "start_date", duration, finishReason = "finish_reason",
             customData = "custom_data", calls, records, otherResourceUsage = "other_resource_usage"
    }

    public var startedAt: Date? { startDate.flatMap(VoximplantTime.parse) }
}

public struct VoximplantCall: Decodable, Sendable {
    /// `end_reason` is typed `any` in the SDK ("End reason code and description",
    /// apiclient-nodejs `src/Structures.ts`); live payloads carry `{code, details}`, older
    /// notes say `description`. Both are read; neither is required.
    public struct EndReason: Decodable, Sendable {
        public let code: FlexibleNumber?
        public let text: String?

        enum CodingKeys: String, CodingKey { case code, details, description }

        public init(from decoder: Decoder) throws {
            guard let container = try? decoder.container(keyedBy: CodingKeys.self) else {
                code = nil
                text = nil
                return
            }
            code = try? container.decodeIfPresent(FlexibleNumber.self, forKey: .code)
            text = (try? container.decodeIfPresent(String.self, forKey: .details))
                ?? (try? container.decodeIfPresent(String.self, forKey: .description))
        }
    }

    public let callID: UInt64?
    public let startTime: String?
    public let duration: FlexibleNumber?
    public let localNumber: String?
    public let remoteNumber: String?
    public let incoming: Bool?
    public let successful: Bool?
    public let cost: FlexibleNumber?
    public let recordURL: String?
    public let endReason: EndReason?

    enum CodingKeys: String, CodingKey {
        case callID = "call_id", startTime = "start_time", duration, localNumber = "local_number",
             remoteNumber = "remote_number", incoming, successful, cost, recordURL = "record_url", endReason = "end_reason"
    }
}

public struct VoximplantRecord: Decodable, Sendable {
    public let recordID: UInt64?
    public let recordURL: String?
    public let duration: FlexibleNumber?
    public let fileSize: FlexibleNumber?
    public let cost: FlexibleNumber?

    enum CodingKeys: String, CodingKey {
        case recordID = "record_id", recordURL = "record_url", duration, fileSize = "file_size", cost
    }
}

/// ResourceUsageType (apiclient-nodejs `src/Structures.ts`): what else the session was billed
/// for (`CALLSESSION`, `ASR`, `TTS_TEXT_GOOGLE`, …), with its cost.
public struct VoximplantResourceUsage: Decodable, Sendable {
    public let resourceType: String?
    public let cost: FlexibleNumber?
    public let refCallID: UInt64?

    enum CodingKeys: String, CodingKey {
        case resourceType = "resource_type", cost, refCallID = "ref_call_id"
    }
}

/// `YYYY-MM-DD HH:mm:ss` in UTC, Voximplant's date format.
public enum VoximplantTime {
    static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }

    public static func format(_ date: Date) -> String { formatter().string(from: date) }
    public static func parse(_ text: String) -> Date? { formatter().date(from: text) }
}

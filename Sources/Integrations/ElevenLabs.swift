import Essentials
import Foundation
import HTTPTransport

/// ElevenLabs Agents ("convai") REST API: `xi-api-key` header (elevenlabs/elevenlabs-python
/// `src/elevenlabs/core/client_wrapper.py`), `/v1/convai/...` paths (same SDK,
/// `src/elevenlabs/conversational_ai/{conversations,agents}/`), and three shapes of `detail` in error
/// bodies: https://elevenlabs.io/docs/eleven-api/resources/errors (current), elevenlabs/elevenlabs-docs
/// `fern/docs/pages/developer-guides/error-messages.mdx` (legacy), and `HTTPValidationError` (422) in
/// elevenlabs/elevenlabs-docs `fern/apis/api/openapi.json`.
public final class ElevenLabsClient: Sendable {
    public static let defaultBaseURL = "https://api.elevenlabs.io"

    let baseURL: String
    let apiKey: String
    let http: HTTPClient
    /// For audio downloads, which may take much longer than an API call.
    let downloads: HTTPClient

    public init(baseURL: String = defaultBaseURL, apiKey: String, http: HTTPClient, downloads: HTTPClient? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.http = http
        self.downloads = downloads ?? http
    }

    public func agent(id: String) throws -> ElevenLabsAgent {
        try get("/v1/convai/agents/\(PercentEncoding.encode(id))", as: ElevenLabsAgent.self)
    }

    public func conversation(id: String) throws -> ElevenLabsConversation {
        try get("/v1/convai/conversations/\(PercentEncoding.encode(id))", as: ElevenLabsConversation.self)
    }

    /// One page of conversations, newest first; pass the previous page's `nextCursor`.
    public func conversations(agentID: String? = nil, after: Date? = nil, before: Date? = nil, cursor: String? = nil,
                              pageSize: Int = 100) throws -> ElevenLabsConversationPage {
        var query = [("page_size", String(min(max(pageSize, 1), 100)))]
        if let agentID { query.append(("agent_id", agentID)) }
        if let after { query.append(("call_start_after_unix", String(Int(after.timeIntervalSince1970)))) }
        if let before { query.append(("call_start_before_unix", String(Int(before.timeIntervalSince1970)))) }
        if let cursor { query.append(("cursor", cursor)) }
        let path = "/v1/convai/conversations?" + query.map { "\($0.0)=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        return try get(path, as: ElevenLabsConversationPage.self)
    }

    /// Streams the conversation's MP3 into `path`; returns its content type.
    /// `limits` gives the size and speed limits (its origins and redirects do not apply: this
    /// is the configured API host, and an API call follows no redirect, so the key header goes
    /// nowhere else).
    public func downloadAudio(conversationID: String, to path: String, limits: OutboundPolicy = OutboundPolicy()) throws -> String {
        var policy = OutboundPolicy()
        policy.maxBodyBytes = limits.maxBodyBytes
        policy.lowSpeed = limits.lowSpeed
        let request = HTTPRequest(url: baseURL + "/v1/convai/conversations/\(PercentEncoding.encode(conversationID))/audio",
                                  headers: headers, policy: policy)
        let response: HTTPResponse
        do {
            response = try downloads.download(request, to: path, limiterKey: limiterKey)
        } catch let error as UpstreamError {
            throw ElevenLabsError.upstream(error)
        }
        guard (200..<300).contains(response.status) else { throw ElevenLabsError.from(status: response.status, body: response.body) }
        return response.headers["content-type"] ?? "audio/mpeg"
    }

    private var headers: [(String, String)] { [("xi-api-key", apiKey), ("Accept", "application/json")] }
    private var limiterKey: String { "elevenlabs:" + String(apiKey.suffix(6)) }

    func get<T: Decodable>(_ path: String, as type: T.Type) throws -> T {
        try decode(try send("GET", path), path: path, as: T.self)
    }

    /// A call with a JSON body (PATCH, POST), decoded as `T`.
    func send<T: Decodable>(_ method: String, _ path: String, json body: some Encodable, as type: T.Type) throws -> T {
        try decode(try send(method, path, body: try JSONEncoder().encode(body)), path: path, as: T.self)
    }

    /// The answer's body when its status is 2xx; otherwise the error the body describes.
    func send(_ method: String, _ path: String, body: Data? = nil) throws -> HTTPResponse {
        var headers = self.headers
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let response: HTTPResponse
        do {
            response = try http.send(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body.map(Array.init)),
                                     limiterKey: limiterKey)
        } catch let error as UpstreamError {
            throw ElevenLabsError.upstream(error)
        }
        guard (200..<300).contains(response.status) else { throw ElevenLabsError.from(status: response.status, body: response.body) }
        return response
    }

    func decode<T: Decodable>(_ response: HTTPResponse, path: String, as type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw ElevenLabsError.malformed(path: String(path.prefix { $0 != "?" }))
        }
    }
}

public enum ElevenLabsError: Error, Equatable, CustomStringConvertible {
    case invalidAPIKey(String)
    case notFound(String)
    case rateLimited(String)
    case validation(String)
    case api(status: Int, message: String)
    case malformed(path: String)
    case upstream(UpstreamError)

    /// Reads all three documented `detail` shapes: an object with `code`/`status` and
    /// `message`, a FastAPI list of `{loc, msg}`, or a bare string.
    static func from(status: Int, body: [UInt8]) -> ElevenLabsError {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: Data(body)))?.detail
        let message = detail?.message ?? "HTTP \(status)"
        let code = detail?.code ?? ""
        switch (status, code) {
        case (401, _), (_, "invalid_api_key"): return .invalidAPIKey(message)
        case (404, _), (_, "invalid_id"), (_, "not_found"): return .notFound(message)
        case (429, _): return .rateLimited(message)
        case (422, _), (400, _): return .validation(message)
        default: return .api(status: status, message: message)
        }
    }

    public var description: String {
        switch self {
        case .invalidAPIKey: "ElevenLabs refused the API key"
        case let .notFound(message): "ElevenLabs: not found (\(message))"
        case .rateLimited: "ElevenLabs is rate limiting us; retrying later"
        case let .validation(message): "ElevenLabs rejected the request: \(message)"
        case let .api(status, message): "ElevenLabs error \(status): \(message)"
        case let .malformed(path): "ElevenLabs sent an answer to \(path) that could not be read"
        case let .upstream(error): error.description
        }
    }

    struct ErrorBody: Decodable {
        let detail: Detail?
    }

    struct Detail: Decodable {
        var message: String?
        var code: String?

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                message = text
            } else if let items = try? container.decode([ValidationItem].self) {
                message = items.map { item in
                    let location = item.loc?.map(\.text).joined(separator: ".") ?? ""
                    return location.isEmpty ? (item.msg ?? "invalid") : "\(location): \(item.msg ?? "invalid")"
                }.joined(separator: "; ")
                code = "validation_error"
            } else {
                let object = try container.decode(DetailObject.self)
                message = object.message
                // `status` is the legacy name of `code`.
                code = object.code ?? object.status
            }
        }
    }

    struct DetailObject: Decodable {
        let message: String?
        let code: String?
        let status: String?
    }

    struct ValidationItem: Decodable {
        let loc: [LocationPart]?
        let msg: String?
    }

    struct LocationPart: Decodable {
        let text: String
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            text = (try? container.decode(String.self)) ?? (try? container.decode(Int.self)).map(String.init) ?? "?"
        }
    }
}

// MARK: - Response shapes (tolerant: unknown fields ignored, uncertain fields optional)


public struct ElevenLabsConversation: Decodable, Sendable {
    public struct Turn: Decodable, Sendable {
        public let role: String
        /// Null on tool-only turns.
        public let message: String?
        public let timeInCallSecs: FlexibleNumber?

        enum CodingKeys: String, CodingKey { case role, message, timeInCallSecs = "time_in_call_secs" }

        /// A time that is not a finite number ("nan", a string) is read as absent: one odd
        /// value must not cost the whole transcript.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            message = try container.decodeIfPresent(String.self, forKey: .message)
            timeInCallSecs = try? container.decodeIfPresent(FlexibleNumber.self, forKey: .timeInCallSecs)
        }
    }

    public struct Metadata: Decodable, Sendable {
        public let startTimeUnixSecs: FlexibleNumber?
        public let callDurationSecs: FlexibleNumber?

        enum CodingKeys: String, CodingKey { case startTimeUnixSecs = "start_time_unix_secs", callDurationSecs = "call_duration_secs" }

        /// Tolerant like `Turn`: an unreadable number is absent.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            startTimeUnixSecs = try? container.decodeIfPresent(FlexibleNumber.self, forKey: .startTimeUnixSecs)
            callDurationSecs = try? container.decodeIfPresent(FlexibleNumber.self, forKey: .callDurationSecs)
        }
    }

    public struct Analysis: Decodable, Sendable {
        public let callSuccessful: String?
        public let transcriptSummary: String?

        enum CodingKeys: String, CodingKey { case callSuccessful = "call_successful", transcriptSummary = "transcript_summary" }
    }

    public struct InitiationData: Decodable, Sendable {
        public let dynamicVariables: [String: DynamicValue]?
        enum CodingKeys: String, CodingKey { case dynamicVariables = "dynamic_variables" }
    }

    public let agentID: String?
    public let conversationID: String
    /// initiated, in-progress, processing, done, failed.
    public let status: String
    public let transcript: [Turn]?
    public let metadata: Metadata?
    public let analysis: Analysis?
    public let hasAudio: Bool?
    public let initiationData: InitiationData?

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", conversationID = "conversation_id", status, transcript, metadata, analysis,
             hasAudio = "has_audio", initiationData = "conversation_initiation_client_data"
    }

    /// Final: nothing more will change (the transcript and analysis are complete).
    public var isFinal: Bool { status == "done" || status == "failed" }
}

/// A dynamic variable: string, number or bool.
public struct DynamicValue: Decodable, Sendable, Equatable {
    public let text: String

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) { text = string }
        // A whole number reads as its digits; anything else (fractions, 1e300) as Swift prints
        // the Double, which no id parses from: never a conversion that can trap.
        else if let number = try? container.decode(Double.self) { text = Int64(exactly: number).map(String.init) ?? String(number) }
        else if let flag = try? container.decode(Bool.self) { text = String(flag) }
        else { text = "" }
    }
}

public struct ElevenLabsConversationPage: Decodable, Sendable {
    public struct Summary: Decodable, Sendable {
        public let conversationID: String
        public let agentID: String?
        public let status: String?
        public let startTimeUnixSecs: FlexibleNumber?

        enum CodingKeys: String, CodingKey {
            case conversationID = "conversation_id", agentID = "agent_id", status, startTimeUnixSecs = "start_time_unix_secs"
        }
    }

    public let conversations: [Summary]
    public let hasMore: Bool
    public let nextCursor: String?

    enum CodingKeys: String, CodingKey { case conversations, hasMore = "has_more", nextCursor = "next_cursor" }
}

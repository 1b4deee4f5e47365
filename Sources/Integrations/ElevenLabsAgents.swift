import Essentials
import Foundation

// Agents, their audio formats, the workspace's post-call webhook and conversation deletion.
// Shapes from elevenlabs-python (2026-07) `src/elevenlabs/`: conversational_ai/agents/raw_client.py
// (list, get, update), types/get_agents_page_response_model.py, types/agent_summary_response_model.py,
// types/asr_conversational_config.py, types/tts_conversational_config_output.py,
// webhooks/raw_client.py (create), types/workspace_create_webhook_response_model.py,
// types/conv_ai_webhooks.py, conversational_ai/settings/raw_client.py (update) and
// conversational_ai/conversations/raw_client.py (delete); wire examples in elevenlabs-js tests/wire/.

extension ElevenLabsClient {
    /// `page_size` "Can not exceed 100, defaults to 30" (agents/raw_client.py `list`).
    public static let maxAgentPageSize = 100

    /// One page of the workspace's agents; pass the previous page's `nextCursor`.
    public func agents(cursor: String? = nil, pageSize: Int = maxAgentPageSize) throws -> ElevenLabsAgentPage {
        var query = [("page_size", String(min(max(pageSize, 1), Self.maxAgentPageSize)))]
        if let cursor { query.append(("cursor", cursor)) }
        return try get("/v1/convai/agents?" + query.map { "\($0.0)=\(PercentEncoding.encode($0.1))" }.joined(separator: "&"),
                       as: ElevenLabsAgentPage.self)
    }

    /// Every agent, following the cursor, up to `limit` (a workspace with more is cut short,
    /// and says so with `complete == false`).
    public func allAgents(limit: Int = 500) throws -> (agents: [ElevenLabsAgentPage.Summary], complete: Bool) {
        var agents: [ElevenLabsAgentPage.Summary] = []
        var cursor: String?
        repeat {
            let page = try self.agents(cursor: cursor)
            agents += page.agents
            // A cursor that does not move would loop forever.
            guard page.hasMore, let next = page.nextCursor, next != cursor, !page.agents.isEmpty else { return (agents, true) }
            cursor = next
        } while agents.count < limit
        return (Array(agents.prefix(limit)), false)
    }

    /// Sets the agent's caller-audio (ASR input) and agent-audio (TTS output) formats, and
    /// returns the agent as ElevenLabs now has it. The SDK types every member of the PATCH
    /// body optional, but whether the server merges a partial `conversation_config` or
    /// replaces it is not documented [unconfirmed]. So the agent's whole `conversation_config`
    /// is read, the two fields changed in it, and all of it sent back: right under either
    /// reading, and the voice, language and the rest stay as they were. The caller still
    /// checks the answer.
    public func setAudioFormat(agentID: String, to format: String) throws -> ElevenLabsAgent {
        let path = "/v1/convai/agents/\(PercentEncoding.encode(agentID))"
        let current = try send("GET", path)
        guard let agent = try? JSONSerialization.jsonObject(with: Data(current.body)) as? [String: Any] else {
            throw ElevenLabsError.malformed(path: path)
        }
        var config = agent["conversation_config"] as? [String: Any] ?? [:]
        var asr = config["asr"] as? [String: Any] ?? [:]
        var tts = config["tts"] as? [String: Any] ?? [:]
        asr["user_input_audio_format"] = format
        tts["agent_output_audio_format"] = format
        config["asr"] = asr
        config["tts"] = tts
        let body = try JSONSerialization.data(withJSONObject: ["conversation_config": config])
        return try decode(try send("PATCH", path, body: body), path: path, as: ElevenLabsAgent.self)
    }

    /// Creates an HMAC-authenticated workspace webhook (`POST /v1/workspace/webhooks`, body
    /// `{"settings": {"auth_type": "hmac", "name", "webhook_url"}}`); returns its id and the
    /// signing secret. The SDK types the secret optional; without one the webhook is useless
    /// to us, so its absence is an error.
    public func createWorkspaceWebhook(name: String, url: String) throws -> (id: String, secret: String) {
        struct Body: Encodable {
            struct Settings: Encodable {
                let auth_type = "hmac"
                let name: String
                let webhook_url: String
            }
            let settings: Settings
        }
        struct Created: Decodable {
            let webhook_id: String
            let webhook_secret: String?
        }
        let created = try send("POST", "/v1/workspace/webhooks", json: Body(settings: .init(name: name, webhook_url: url)),
                               as: Created.self)
        guard let secret = created.webhook_secret, !secret.isEmpty else {
            throw ElevenLabsError.malformed(path: "/v1/workspace/webhooks (no webhook_secret)")
        }
        return (created.webhook_id, secret)
    }

    /// Makes the webhook the workspace's post-call webhook (`PATCH /v1/convai/settings`,
    /// `{"webhooks": {"post_call_webhook_id", "events"}}`; ConvAiWebhooks.events: "transcript",
    /// "audio", …). The answer is the settings; they are not needed.
    public func usePostCallWebhook(id: String, events: [String] = ["transcript"]) throws {
        struct Body: Encodable {
            struct Webhooks: Encodable {
                let post_call_webhook_id: String
                let events: [String]
            }
            let webhooks: Webhooks
        }
        let body = try JSONEncoder().encode(Body(webhooks: .init(post_call_webhook_id: id, events: events)))
        _ = try send("PATCH", "/v1/convai/settings", body: body)
    }

    /// The workspace's current post-call webhook, if any (`GET /v1/convai/settings`,
    /// GetConvAiSettingsResponseModel.webhooks.post_call_webhook_id).
    public func postCallWebhookID() throws -> String? {
        struct Settings: Decodable {
            struct Webhooks: Decodable { let post_call_webhook_id: String? }
            let webhooks: Webhooks?
        }
        return try get("/v1/convai/settings", as: Settings.self).webhooks?.post_call_webhook_id
    }

    /// `DELETE /v1/workspace/webhooks/{id}` (answers `{"status": "ok"}`); one already gone is fine.
    public func deleteWorkspaceWebhook(id: String) throws {
        do {
            _ = try send("DELETE", "/v1/workspace/webhooks/\(PercentEncoding.encode(id))")
        } catch ElevenLabsError.notFound {
        }
    }

    /// `DELETE /v1/convai/conversations/{id}`: the SDK types the answer `Any` (empty or JSON),
    /// so any 2xx is success and the body is not read. A conversation already gone is too.
    public func deleteConversation(id: String) throws {
        do {
            _ = try send("DELETE", "/v1/convai/conversations/\(PercentEncoding.encode(id))")
        } catch ElevenLabsError.notFound {
        }
    }
}

/// An agent as GET/PATCH `/v1/convai/agents/{id}` return it (GetAgentResponseModel); only the
/// parts this product reads.
public struct ElevenLabsAgent: Decodable, Sendable {
    public let agentID: String
    public let name: String
    /// What the agent expects from the caller and sends back, e.g. `pcm_16000`.
    public let inputAudioFormat: String
    public let outputAudioFormat: String

    /// The format VoxEngine's ElevenLabs module streams: "Voximplant requires the agent to use
    /// 16 kHz PCM" (Voximplant's ElevenLabs guide; shared/reference/voximplant-api.md).
    public static let voximplantFormat = "pcm_16000"

    /// Both formats are optional in the SDK (`default=None`); the API's own default is
    /// `pcm_16000` for both (elevenlabs-docs openapi.json, 2025) [unconfirmed for 2026], so
    /// an absent one reads as that.
    public var usesVoximplantFormat: Bool {
        inputAudioFormat == Self.voximplantFormat && outputAudioFormat == Self.voximplantFormat
    }

    enum CodingKeys: String, CodingKey { case agentID = "agent_id", name, conversationConfig = "conversation_config" }

    struct Config: Decodable {
        struct ASR: Decodable {
            let format: String?
            enum CodingKeys: String, CodingKey { case format = "user_input_audio_format" }
        }
        struct TTS: Decodable {
            let format: String?
            enum CodingKeys: String, CodingKey { case format = "agent_output_audio_format" }
        }
        let asr: ASR?
        let tts: TTS?
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        agentID = try container.decode(String.self, forKey: .agentID)
        name = try container.decode(String.self, forKey: .name)
        // Values beyond the SDK's enum are allowed (`typing.Any`): kept as text, never a failure.
        let config = try? container.decodeIfPresent(Config.self, forKey: .conversationConfig)
        inputAudioFormat = config?.asr?.format ?? Self.voximplantFormat
        outputAudioFormat = config?.tts?.format ?? Self.voximplantFormat
    }
}

public struct ElevenLabsAgentPage: Decodable, Sendable {
    /// AgentSummaryResponseModel: agent_id, name, tags, created_at_unix_secs, … (only the two read).
    public struct Summary: Decodable, Sendable {
        public let agentID: String
        public let name: String
        enum CodingKeys: String, CodingKey { case agentID = "agent_id", name }
    }

    public let agents: [Summary]
    public let hasMore: Bool
    public let nextCursor: String?

    enum CodingKeys: String, CodingKey { case agents, hasMore = "has_more", nextCursor = "next_cursor" }
}

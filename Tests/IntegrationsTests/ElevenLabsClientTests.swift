import Foundation
import Testing
import HTTPTransport
@testable import Integrations

@Suite(.serialized) struct ElevenLabsClientTests {
    let fakes: FakeServers
    init() throws { fakes = try FakeServers(sessions: 0) }

    func el(key: String = FakeServers.elevenLabsKey, sleeps: SleepRecorder? = nil) -> ElevenLabsClient {
        ElevenLabsClient(baseURL: fakes.elevenLabsURL, apiKey: key, http: client("elevenlabs", sleeps: sleeps))
    }

    @Test func agentValidates() throws {
        #expect(try el().agent(id: "agent_support_1").name == "Support agent")
        #expect(throws: ElevenLabsError.notFound("Agent agent_nope not found")) { try el().agent(id: "agent_nope") }
        #expect(throws: ElevenLabsError.invalidAPIKey("Invalid API key")) { try el(key: "wrong").agent(id: "agent_support_1") }
    }

    @Test func agentsPageByCursorAndCarryTheirAudioFormats() throws {
        try fakes.elevenLabsControl("/_control/agents", ["count": 240])
        let listed = try el().allAgents()
        #expect(listed.complete && listed.agents.count == 243 && Set(listed.agents.map(\.agentID)).count == 243)
        #expect(try el().allAgents(limit: 150).complete == false)
        #expect(try el().agent(id: "agent_support_1").usesVoximplantFormat)
        // Absent formats read as the API's default, pcm_16000.
        #expect(try el().agent(id: "agent_sales_2").usesVoximplantFormat)
        let legacy = try el().agent(id: "agent_legacy_3")
        #expect(legacy.inputAudioFormat == "ulaw_8000" && legacy.outputAudioFormat == "pcm_8000" && !legacy.usesVoximplantFormat)
        let fixed = try el().setAudioFormat(agentID: "agent_legacy_3", to: "pcm_16000")
        #expect(fixed.usesVoximplantFormat && fixed.name == "Legacy phone agent")
        // Read back: the change stuck.
        #expect(try el().agent(id: "agent_legacy_3").usesVoximplantFormat)
    }

    @Test func workspaceWebhookIsCreatedAndAttached() throws {
        let webhook = try el().createWorkspaceWebhook(name: "VoxFCGI", url: "https://voice.example.test/api/webhook/elevenlabs/x")
        #expect(webhook.id.hasPrefix("wh_") && webhook.secret.count >= 32)
        try el().usePostCallWebhook(id: webhook.id, events: ["transcript", "audio"])
        #expect(throws: ElevenLabsError.self) { try el().usePostCallWebhook(id: "wh_unknown") }
        #expect(throws: ElevenLabsError.self) { try el().createWorkspaceWebhook(name: "x", url: "http://plain.example") }
    }

    @Test func conversationDeletionTreatsGoneAsDone() throws {
        try el().deleteConversation(id: "conv_77")
        #expect(throws: ElevenLabsError.notFound("conversation not found")) { try el().conversation(id: "conv_77") }
        try el().deleteConversation(id: "nope")
        #expect(throws: ElevenLabsError.invalidAPIKey("Invalid API key")) { try el(key: "wrong").deleteConversation(id: "conv_78") }
    }

    @Test func conversationWithTranscriptAnalysisAndUnknownFields() throws {
        let conversation = try el().conversation(id: "conv_42")
        #expect(conversation.isFinal)
        #expect(conversation.transcript?.count == 4)
        #expect(conversation.transcript?[2].message == nil)
        #expect(conversation.analysis?.callSuccessful == "success")
        #expect(conversation.initiationData?.dynamicVariables?["vox_session_id"]?.text == "800000001")
        #expect(conversation.initiationData?.dynamicVariables?["n"]?.text == "5")
        let pending = try el().conversation(id: "conv_pending_1")
        #expect(!pending.isFinal)
        #expect(pending.analysis == nil)
    }

    @Test func listsWithCursorPaging() throws {
        var cursor: String?
        var ids: [String] = []
        repeat {
            let page = try el().conversations(cursor: cursor, pageSize: 100)
            ids += page.conversations.map(\.conversationID)
            cursor = page.hasMore ? page.nextCursor : nil
        } while cursor != nil
        #expect(ids.count == 250)
        #expect(Set(ids).count == 250)
    }

    @Test func streamsAudioToAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audio-\(UUID()).mp3").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try el().downloadAudio(conversationID: "conv_1", to: path) == "audio/mpeg")
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 4003)
        #expect(throws: ElevenLabsError.self) { try el().downloadAudio(conversationID: "nope", to: path + "2") }
        #expect(!FileManager.default.fileExists(atPath: path + "2"))
    }

    @Test func allThreeErrorShapesParse() {
        func parse(_ status: Int, _ json: String) -> ElevenLabsError { ElevenLabsError.from(status: status, body: Array(json.utf8)) }
        #expect(parse(400, #"{"detail": {"type": "validation_error", "code": "invalid_parameters", "message": "bad keyterms", "status": "invalid_parameters", "param": "keyterms"}}"#)
            == .validation("bad keyterms"))
        #expect(parse(401, #"{"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}"#) == .invalidAPIKey("Invalid API key"))
        #expect(parse(422, #"{"detail": [{"loc": ["query", "page_size"], "msg": "too big", "type": "value_error"}]}"#)
            == .validation("query.page_size: too big"))
        #expect(parse(400, #"{"detail": "plain string"}"#) == .validation("plain string"))
        #expect(parse(503, "<html>gateway</html>") == .api(status: 503, message: "HTTP 503"))
    }

    @Test func retriesRateLimitThenSucceeds() throws {
        try fakes.fault("elevenlabs", match: "/v1/convai/agents", mode: "429", times: 2)
        let sleeps = SleepRecorder()
        #expect(try el(sleeps: sleeps).agent(id: "agent_sales_2").name == "Sales agent")
        #expect(sleeps.recorded.count == 2)
    }
}

import Essentials
import CryptoPrimitives
import FastCGI
import Foundation
import Integrations
import VoxCore
import VoxServices
import Metrics

/// `POST /api/webhook/voximplant`: events from the generated scenarios, authenticated as
/// `ScenarioEvents` says. Any failure to authenticate is a bare 401. The answer is 2xx only
/// after the call and its follow-up jobs are committed.
enum WebhookEndpoints {
    static let maxBody = 64 * 1024
    private static let okBody = Array(#"{"ok":true}"#.utf8)

    static func voximplant(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        var type = "unknown"
        do {
            return try voximplant(request, context, site, type: &type)
        } catch {
            WebhookMetrics.count("voximplant", type, WebhookMetrics.outcome(of: error))
            throw error
        }
    }

    private static func voximplant(_ request: Request, _ context: RequestContext, _ site: Site, type: inout String) throws -> Response {
        guard request.contentType == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "send application/json")
        }
        let event: ScenarioEvent
        do { event = try ScenarioEvent(json: request.body) } catch { throw HTTPError(.badRequest, "malformed JSON: \(error)") }
        type = event.type.rawValue
        let kind = type
        let credentials = ScenarioEvents.Credentials(signature: request.headers["x-vox-signature"],
                                                     timestamp: request.headers["x-vox-timestamp"],
                                                     authorization: request.headers["authorization"])
        guard try site.scenarioEvents.isAuthentic(request.body, applicationID: event.applicationID, credentials: credentials) else {
            throw HTTPError(.unauthorized, "unauthorized")
        }
        // The answer comes once the event is durably committed; until then no thread waits
        // for it (see FastCGIServer), so concurrent events fill each group commit.
        let answer = LaterResponse()
        let events = site.webhookEvents
        let requestID = context.requestID
        let logger = context.logger
        site.scenarioEvents.apply(event) { result in
            let outcome = { if case .success = result { "accepted" } else { "failed" } }()
            WebhookMetrics.count("voximplant", kind, outcome)
            events.record(applicationID: event.applicationID, type: kind, sessionID: event.sessionID, sentAtMillis: event.sentAt,
                          outcome: outcome)
            switch result {
            case .success:
                // No internal id goes back: an event's sender learns nothing about our records.
                answer.complete(Response(status: .ok, headers: [("Content-Type", "application/json")], body: .bytes(okBody)))
            case let .failure(error):
                answer.complete(App.apiError(error, requestID: requestID, logger: logger))
            }
        }
        return .later(answer)
    }
}

/// `POST /api/webhook/elevenlabs/<token>`: ElevenLabs' post-call webhooks on each key's own
/// URL (see `ElevenLabsWebhooks`). Parses the envelope; the service authenticates and applies.
enum ElevenLabsWebhook {
    /// The largest body on a key's own URL (`post_call_audio` carries the whole call as
    /// base64 MP3). Any other path of this endpoint gets `smallBody`.
    static let maxBody = 64 * 1024 * 1024
    static let smallBody = 64 * 1024
    static let prefix = "/api/webhook/elevenlabs/"

    /// The body limit for `path`, decided before the body is read: a large body only on the URL
    /// of a key that exists, so an outsider cannot make the worker read 64 MiB for nothing.
    static func bodyLimit(path: String, webhooks: ElevenLabsWebhooks) -> Int? {
        guard path.hasPrefix(prefix) else { return nil }
        return webhooks.knows(token: path.dropFirst(prefix.count)) ? maxBody : smallBody
    }

    struct Envelope: Decodable {
        let type: String
    }

    /// The old shared URL: answered with where to go now, so a forgotten dashboard setting
    /// shows up in ElevenLabs' delivery log instead of failing silently.
    static func retired(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        throw HTTPError(.gone, "ElevenLabs webhooks go to each key's own URL now: see Setup → ElevenLabs API keys")
    }

    static func receive(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        var type = "unknown"
        do {
            let response = try receive(request, context, site, type: &type)
            WebhookMetrics.count("elevenlabs", type, "accepted")
            return response
        } catch {
            WebhookMetrics.count("elevenlabs", type, WebhookMetrics.outcome(of: error))
            throw error
        }
    }

    private static func receive(_ request: Request, _ context: RequestContext, _ site: Site, type: inout String) throws -> Response {
        let webhooks = site.elevenLabsWebhooks
        guard let key = try webhooks.authenticate(token: Substring(try context.parameter("token")),
                                                  signature: request.headers["elevenlabs-signature"], body: request.body)
        else { throw HTTPError(.unauthorized, "unauthorized") }

        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(request.body))
        } catch {
            throw HTTPError(.badRequest, "malformed JSON: expected {\"type\": …, \"data\": {…}}")
        }
        type = WebhookMetrics.elevenLabsTypes.contains(envelope.type) ? envelope.type : "other"
        switch envelope.type {
        case "post_call_transcription":
            let conversation: ElevenLabsConversation
            do {
                conversation = try JSONDecoder().decode(TranscriptionEnvelope.self, from: Data(request.body)).data
            } catch {
                throw HTTPError(.badRequest, "malformed post_call_transcription: \(error)")
            }
            guard (1...128).contains(conversation.conversationID.utf8.count) else {
                throw HTTPError(.badRequest, "malformed post_call_transcription: data.conversation_id must have 1 to 128 characters")
            }
            try webhooks.received(conversation, through: key)
            return .json(["ok": true])
        case "post_call_audio":
            guard let audio = try? JSONDecoder().decode(AudioEnvelope.self, from: Data(request.body)),
                  (1...128).contains(audio.data.conversationID.utf8.count) else {
                throw HTTPError(.badRequest, "malformed post_call_audio: data.conversation_id (1 to 128 characters) is required")
            }
            try webhooks.audioIsReady(conversationID: audio.data.conversationID, through: key)
            return .json(["ok": true])
        case "call_initiation_failure":
            // The call stays as Voximplant reports it; accepted so that ElevenLabs does not count
            // a failure and disable the webhook.
            context.logger.info("elevenlabs webhook accepted", metadata: ["type": .string(LogText.escape(envelope.type))])
            return .json(["ok": true])
        default:
            return .json(["ok": true, "ignored": true])
        }
    }

    struct TranscriptionEnvelope: Decodable {
        let data: ElevenLabsConversation
    }

    /// Only the id: `full_audio` (base64 MP3) is skipped, not decoded.
    struct AudioEnvelope: Decodable {
        struct Data: Decodable {
            let conversationID: String
            enum CodingKeys: String, CodingKey { case conversationID = "conversation_id" }
        }
        let data: Data
    }
}

/// Webhook events by source, type and outcome. The type label is one of ours (an unknown
/// one is "other"), never what a sender wrote.
enum WebhookMetrics {
    static let elevenLabsTypes: Set<String> = ["post_call_transcription", "post_call_audio", "call_initiation_failure"]

    static func count(_ source: String, _ type: String, _ outcome: String) {
        MetricHandles.shared.counter(MetricName.webhookEvents, [("source", source), ("type", type), ("outcome", outcome)]).increment()
    }

    static func outcome(of error: Error) -> String {
        guard let error = error as? any HTTPResponseError else { return "failed" }
        if error.status == .unauthorized { return "unauthorized" }
        return error.status.rawValue < 500 ? "malformed" : "failed"
    }
}

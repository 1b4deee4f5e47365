import CryptoPrimitives
import FastCGI
import Integrations
import Foundation
import VoxCore

/// `POST /api/webhook/voximplant`: events from the generated scenarios.
///
/// Authenticated with the application's own webhook secret: `X-Vox-Signature: v1=<hex
/// HMAC-SHA256 of "<X-Vox-Timestamp>.<body>">` within a 5-minute window, or, from runtimes
/// without HMAC, `Authorization: Bearer <secret>` (see ScenarioGenerator). Any failure is a
/// bare 401. The answer is 2xx only after the call and its follow-up jobs are committed.
enum WebhookEndpoints {
    static let replayWindow: TimeInterval = 5 * 60
    static let maxBody = 64 * 1024

    static func voximplant(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        guard request.contentType == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "send application/json")
        }
        let event: ScenarioEvent
        do { event = try ScenarioEvent(json: request.body) } catch { throw HTTPError(.badRequest, "malformed JSON: \(error)") }
        guard try authenticated(request, applicationID: event.applicationID, services: services) else {
            throw HTTPError(.unauthorized, "unauthorized")
        }
        let ingest = ScenarioEventIngest(database: services.database, jobs: services.jobs)
        let waker = services.jobWaker
        // The answer comes once the event is durably committed; until then no thread waits
        // for it (see FastCGIServer), so concurrent events fill each group commit.
        let answer = LaterResponse()
        let requestID = context.requestID
        services.database.environment.write({ txn in
            let applied = try ingest.apply(event, in: txn)
            if applied.enqueuedJobs { txn.onCommit { waker.wake() } }
            return applied.callID
        }, then: { result in
            switch result {
            case let .success(callID):
                // Written out rather than through JSONEncoder: this is the hot path of ingest.
                answer.complete(Response(status: .ok, headers: [("Content-Type", "application/json")],
                                         body: .bytes(Array(#"{"ok":true,"call_id":\#(callID)}"#.utf8))))
            case let .failure(error):
                answer.complete(App.apiError(error, requestID: requestID, logger: context.logger))
            }
        })
        return .later(answer)
    }

    static func authenticated(_ request: Request, applicationID: UInt64, services: Services) throws -> Bool {
        guard let secret = try services.webhookSecrets.secret(applicationID: applicationID, services: services) else { return false }
        if let signature = request.headers["x-vox-signature"], signature.hasPrefix("v1="),
           let timestamp = request.headers["x-vox-timestamp"], let seconds = Double(timestamp) {
            guard abs(services.clock.now().timeIntervalSince1970 - seconds) <= replayWindow,
                  let given = [UInt8](hexDigits: signature.utf8.dropFirst(3)) else { return false }
            let expected = HMACSHA256.authenticate(parts: [Array(timestamp.utf8), [UInt8(ascii: ".")], request.body], key: secret)
            return constantTimeEquals(given, expected)
        }
        if let authorization = request.headers["authorization"], authorization.hasPrefix("Bearer ") {
            return constantTimeEquals(authorization.utf8.dropFirst(7), secret)
        }
        return false
    }
}

/// `POST /api/webhook/elevenlabs`: ElevenLabs' post-call webhooks, signed as ElevenLabs signs
/// them (see `ElevenLabsSignature`), checked against every saved webhook secret.
enum ElevenLabsWebhook {
    static let maxBody = 64 * 1024 * 1024

    struct Envelope: Decodable {
        let type: String
        let data: Payload?
    }

    /// The fields used here; the rest of ElevenLabs' payload is ignored, as it grows.
    struct Payload: Decodable {
        let conversationID: String?
        enum CodingKeys: String, CodingKey { case conversationID = "conversation_id" }
    }

    static func receive(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let secrets = try SetupService(database: services.database, vault: services.vault).elevenLabsWebhookSecrets()
        let header = request.headers["elevenlabs-signature"]
        let now = services.clock.now()
        guard secrets.contains(where: { secret in
            (try? ElevenLabsSignature.verify(header: header, body: request.body, secret: secret, now: now)) != nil
        }) else { throw HTTPError(.unauthorized, "unauthorized") }

        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(request.body))
        } catch {
            throw HTTPError(.badRequest, "malformed JSON: expected {\"type\": …, \"data\": {…}}")
        }
        switch envelope.type {
        case "post_call_transcription":
            let conversation: ElevenLabsConversation
            do {
                conversation = try JSONDecoder().decode(TranscriptionEnvelope.self, from: Data(request.body)).data
            } catch {
                throw HTTPError(.badRequest, "malformed post_call_transcription: \(error)")
            }
            try store(conversation, services)
            return .json(["ok": true])
        case "post_call_audio":
            // The audio is ready at ElevenLabs: archive it now if its call has no recording from
            // Voximplant (the job fetches it through the API, streamed, rather than keeping this
            // base64 copy in memory).
            guard let audio = try? JSONDecoder().decode(AudioEnvelope.self, from: Data(request.body)) else {
                throw HTTPError(.badRequest, "malformed post_call_audio: data.conversation_id is required")
            }
            let database = services.database
            try database.environment.write { txn in
                guard let callID = try database.callsByConversation.get(txn, audio.data.conversationID),
                      let call = try database.calls.get(txn, callID), call.recording == nil, call.recordingURL == nil else { return }
                try RecordingJobs.enqueueArchive(callID: callID, jobs: services.jobs, in: txn)
                txn.onCommit { [waker = services.jobWaker] in waker.wake() }
            }
            return .json(["ok": true])
        case "call_initiation_failure":
            // The call stays as Voximplant reports it; accepted so that ElevenLabs does not count
            // a failure and disable the webhook.
            context.logger.info("elevenlabs webhook accepted", metadata: ["type": .string(envelope.type)])
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

    /// Stores the transcript and links it to its call: by conversation id, or through the
    /// Voximplant session id that the scenario passed as a dynamic variable.
    static func store(_ conversation: ElevenLabsConversation, _ services: Services) throws {
        let transcript = conversation.storedTranscript
        let sessionID = conversation.initiationData?.dynamicVariables?["vox_session_id"].flatMap { UInt64($0.text) }
        let database = services.database
        try database.environment.write { txn in
            let store = CallStore(database: database)
            if let sessionID, try database.callsByConversation.get(txn, conversation.conversationID) == nil,
               let callID = try database.callsByVoximplantID.get(txn, sessionID) {
                try store.update(id: callID, in: txn) { $0.conversationID = conversation.conversationID }
            }
            try store.saveTranscript(transcript, in: txn)
        }
    }
}

/// Opened webhook secrets, kept in memory: every scenario event needs its application's, and
/// opening it (a read transaction and an AES-GCM decryption) was a fixed cost per event. An
/// entry is keyed by the sealed bytes too, so a changed secret is opened afresh.
public final class WebhookSecretCache: @unchecked Sendable {
    private let lock = NSLock()
    private var opened: [UInt64: (sealed: [UInt8], secret: [UInt8])] = [:]

    public init() {}

    /// The secret's UTF-8 bytes: what the signature is keyed with.
    func secret(applicationID: UInt64, services: Services) throws -> [UInt8]? {
        let database = services.database
        guard let sealed = try database.environment.read({ txn in
            try database.applicationCache.get(txn, applicationID)?.webhookSecretSealed
        }) else { return nil }
        lock.lock()
        if let hit = opened[applicationID], hit.sealed == sealed {
            lock.unlock()
            return hit.secret
        }
        lock.unlock()
        guard let text = try? services.vault.open(sealed, at: Vault.Place("applications", applicationID, "webhook_secret")) else {
            return nil
        }
        let secret = Array(text.utf8)
        lock.lock()
        opened[applicationID] = (sealed, secret)
        lock.unlock()
        return secret
    }
}

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
    private static let okBody = Array(#"{"ok":true}"#.utf8)

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
        }, then: { result in
            switch result {
            case .success:
                // No internal id goes back: an event's sender learns nothing about our records.
                answer.complete(Response(status: .ok, headers: [("Content-Type", "application/json")], body: .bytes(okBody)))
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

/// `POST /api/webhook/elevenlabs/<token>`: ElevenLabs' post-call webhooks, each ElevenLabs
/// key with its own URL (see `ElevenLabsWebhookToken`), signed as ElevenLabs signs them (see
/// `ElevenLabsSignature`) with that key's webhook secret. A webhook can touch only calls whose
/// application uses that key.
enum ElevenLabsWebhook {
    /// The largest body on a key's own URL (`post_call_audio` carries the whole call as
    /// base64 MP3). Any other path of this endpoint gets `smallBody`.
    static let maxBody = 64 * 1024 * 1024
    static let smallBody = 64 * 1024

    /// The body limit for `path`, decided before the body is read: a large body only on the URL
    /// of a key that exists, so an outsider cannot make the worker read 64 MiB for nothing.
    static func bodyLimit(path: String, database: Database) -> Int? {
        let prefix = "/api/webhook/elevenlabs/"
        guard path.hasPrefix(prefix) else { return nil }
        let token = path.dropFirst(prefix.count)
        return (try? ElevenLabsWebhookToken.key(for: token, database: database)) != nil ? maxBody : smallBody
    }

    struct Envelope: Decodable {
        let type: String
    }

    /// The old shared URL: answered with where to go now, so a forgotten dashboard setting
    /// shows up in ElevenLabs' delivery log instead of failing silently.
    static func retired(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        throw HTTPError(HTTPStatus(rawValue: 410), "ElevenLabs webhooks go to each key's own URL now: see Setup → ElevenLabs API keys")
    }

    static func receive(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        // One lookup, one secret, one HMAC: an unknown token is refused before any of them.
        guard let key = try ElevenLabsWebhookToken.key(for: Substring(try context.parameter("token")), database: services.database),
              let sealed = key.webhookSecretSealed,
              let secret = try? services.vault.open(sealed, at: Vault.Place("elevenlabs_keys", key.id, "webhook_secret")),
              (try? ElevenLabsSignature.verify(header: request.headers["elevenlabs-signature"], body: request.body,
                                               secret: secret, now: services.clock.now())) != nil
        else { throw HTTPError(.unauthorized, "unauthorized") }

        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(request.body))
        } catch {
            throw HTTPError(.badRequest, "malformed JSON: expected {\"type\": …, \"data\": {…}}")
        }
        let link = TranscriptLinking(database: services.database, key: key)
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
            var transcript = conversation.storedTranscript
            transcript.receivedAt = services.clock.now()
            try link.store(transcript, sessionHint: conversation.voximplantSessionID)
            return .json(["ok": true])
        case "post_call_audio":
            // The audio is ready at ElevenLabs: archive it now if its call has no recording from
            // Voximplant (the job fetches it through the API, streamed, rather than keeping this
            // base64 copy in memory).
            guard let audio = try? JSONDecoder().decode(AudioEnvelope.self, from: Data(request.body)),
                  (1...128).contains(audio.data.conversationID.utf8.count) else {
                throw HTTPError(.badRequest, "malformed post_call_audio: data.conversation_id (1 to 128 characters) is required")
            }
            if try link.audioIsReady(conversationID: audio.data.conversationID, jobs: services.jobs) {
                services.jobWaker.wake()
            }
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

extension ElevenLabsConversation {
    /// The Voximplant session id the generated scenario passes as a dynamic variable, when it
    /// is a whole number.
    var voximplantSessionID: UInt64? {
        initiationData?.dynamicVariables?["vox_session_id"].flatMap { UInt64($0.text) }
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

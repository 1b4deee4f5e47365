import CryptoPrimitives
import Foundation
import Integrations
import KVStore
import VoxCore

/// Events from the generated scenarios: who may send them, and what they change.
///
/// Authenticated with the application's own webhook secret: `X-Vox-Signature: v1=<hex
/// HMAC-SHA256 of "<X-Vox-Timestamp>.<body>">` within a 5-minute window, or, from runtimes
/// without HMAC, `Authorization: Bearer <secret>` (see ScenarioGenerator).
public final class ScenarioEvents: @unchecked Sendable {
    public static let replayWindow: TimeInterval = 5 * 60

    let database: Database
    let vault: Vault
    let clock: any Clock
    let ingest: ScenarioEventIngest
    /// Opened webhook secrets, kept in memory: every event needs its application's, and
    /// opening it (a read transaction and an AES-GCM decryption) was a fixed cost per event.
    /// An entry is keyed by the sealed bytes too, so a changed secret is opened afresh.
    private let lock = NSLock()
    private var opened: [UInt64: (sealed: [UInt8], secret: [UInt8])] = [:]

    public init(database: Database, vault: Vault, jobs: JobQueue, clock: any Clock) {
        self.database = database
        self.vault = vault
        self.clock = clock
        ingest = ScenarioEventIngest(database: database, jobs: jobs)
    }

    /// The credentials an event came with, as sent.
    public struct Credentials: Sendable {
        public var signature: String?
        public var timestamp: String?
        public var authorization: String?

        public init(signature: String?, timestamp: String?, authorization: String?) {
            self.signature = signature
            self.timestamp = timestamp
            self.authorization = authorization
        }
    }

    /// Whether `body` was sent by a scenario that knows the application's webhook secret.
    public func isAuthentic(_ body: [UInt8], applicationID: UInt64, credentials: Credentials) throws -> Bool {
        guard let secret = try secret(applicationID: applicationID) else { return false }
        if let signature = credentials.signature, signature.hasPrefix("v1="),
           let timestamp = credentials.timestamp, let seconds = Double(timestamp) {
            guard abs(clock.now().timeIntervalSince1970 - seconds) <= ScenarioEvents.replayWindow,
                  let given = [UInt8](hexDigits: signature.utf8.dropFirst(3)) else { return false }
            let expected = HMACSHA256.authenticate(parts: [Array(timestamp.utf8), [UInt8(ascii: ".")], body], key: secret)
            return constantTimeEquals(given, expected)
        }
        if let authorization = credentials.authorization, authorization.hasPrefix("Bearer ") {
            return constantTimeEquals(authorization.utf8.dropFirst(7), secret)
        }
        return false
    }

    /// Applies the event and its follow-up jobs in the next group commit; `then` runs once it
    /// is durable (or failed). No thread waits meanwhile.
    public func apply(_ event: ScenarioEvent, then: @escaping @Sendable (Result<Void, Error>) -> Void) {
        let ingest = self.ingest
        database.environment.write({ txn in _ = try ingest.apply(event, in: txn) }, then: then)
    }

    /// The secret's UTF-8 bytes: what the signature is keyed with.
    private func secret(applicationID: UInt64) throws -> [UInt8]? {
        guard let sealed = try database.environment.read({ txn in
            try database.applicationCache.get(txn, applicationID)?.webhookSecretSealed
        }) else { return nil }
        lock.lock()
        if let hit = opened[applicationID], hit.sealed == sealed {
            lock.unlock()
            return hit.secret
        }
        lock.unlock()
        guard let text = try? vault.open(sealed, as: .applicationWebhookSecret, of: applicationID) else { return nil }
        let secret = Array(text.utf8)
        lock.lock()
        opened[applicationID] = (sealed, secret)
        lock.unlock()
        return secret
    }
}

/// ElevenLabs' post-call webhooks, each ElevenLabs key with its own URL (see
/// `ElevenLabsWebhookToken`), signed as ElevenLabs signs them (see `ElevenLabsSignature`) with
/// that key's webhook secret. A webhook can touch only calls whose application uses that key
/// (see `TranscriptLinking`).
public struct ElevenLabsWebhooks: Sendable {
    let database: Database
    let vault: Vault
    let jobs: JobQueue
    let clock: any Clock

    public init(database: Database, vault: Vault, jobs: JobQueue, clock: any Clock) {
        self.database = database
        self.vault = vault
        self.jobs = jobs
        self.clock = clock
    }

    /// Whether `token` is some key's: decided before a body is read, so that only a key's own
    /// URL may take a large one.
    public func knows(token: Substring) -> Bool {
        (try? ElevenLabsWebhookToken.key(for: token, database: database)) != nil
    }

    /// The key whose URL carries `token` and whose secret signed `body`; nil for anything else.
    /// One lookup, one secret, one HMAC: an unknown token is refused before any of them.
    public func authenticate(token: Substring, signature: String?, body: [UInt8]) throws -> ElevenLabsKey? {
        guard let key = try ElevenLabsWebhookToken.key(for: token, database: database),
              let sealed = key.webhookSecretSealed,
              let secret = try? vault.open(sealed, as: .elevenLabsWebhookSecret, of: key.id),
              (try? ElevenLabsSignature.verify(header: signature, body: body, secret: secret, now: clock.now())) != nil
        else { return nil }
        return key
    }

    /// `post_call_transcription`: stores the transcript and links it to its call.
    public func received(_ conversation: ElevenLabsConversation, through key: ElevenLabsKey) throws {
        var transcript = conversation.storedTranscript
        transcript.receivedAt = clock.now()
        try TranscriptLinking(database: database, key: key).store(transcript, sessionHint: conversation.voximplantSessionID)
    }

    /// `post_call_audio`: the audio is ready at ElevenLabs; archive it now if its call has no
    /// recording from Voximplant (the job fetches it through the API, streamed).
    public func audioIsReady(conversationID: String, through key: ElevenLabsKey) throws {
        _ = try TranscriptLinking(database: database, key: key).audioIsReady(conversationID: conversationID, jobs: jobs)
    }
}

extension ElevenLabsConversation {
    /// The Voximplant session id the generated scenario passes as a dynamic variable, when it
    /// is a whole number.
    var voximplantSessionID: UInt64? {
        initiationData?.dynamicVariables?["vox_session_id"].flatMap { UInt64($0.text) }
    }
}

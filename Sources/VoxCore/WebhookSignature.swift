import CryptoPrimitives
import Foundation

/// ElevenLabs' post-call webhook signature, as its SDKs check it (elevenlabs/elevenlabs-python
/// `src/elevenlabs/webhooks_custom.py`, elevenlabs/elevenlabs-js `src/wrapper/webhooks.ts`; docs:
/// https://elevenlabs.io/docs/eleven-agents/workflows/post-call-webhooks): header
/// `ElevenLabs-Signature: t=<unix seconds>,v0=<hex>`, where hex is HMAC-SHA256 under the webhook
/// secret of `"<t>.<raw body>"`.
///
/// Stricter than the SDKs on purpose: the comparison is constant-time (theirs is `!=`), and a
/// timestamp from the future past `futureSkew` is refused too (theirs only refuses old ones),
/// so a captured request cannot be held back and replayed later.
public enum ElevenLabsSignature {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missingHeader
        case malformed
        case stale
        case fromTheFuture
        case mismatch

        public var description: String {
            switch self {
            case .missingHeader: "Missing signature header"
            case .malformed: "No signature hash found with expected scheme v0"
            case .stale: "Timestamp outside the tolerance zone"
            case .fromTheFuture: "Timestamp is in the future"
            case .mismatch: "Signature hash does not match the expected signature hash for payload"
            }
        }
    }

    public static let tolerance: TimeInterval = 30 * 60
    public static let futureSkew: TimeInterval = 5 * 60

    public static func verify(header: String?, body: [UInt8], secret: String, now: Date = Date()) throws {
        guard let header, !header.isEmpty else { throw Failure.missingHeader }
        var timestamp: String?
        var signature: String?
        for part in header.split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            if item.hasPrefix("t=") { timestamp = String(item.dropFirst(2)) }
            if item.hasPrefix("v0=") { signature = String(item.dropFirst(3)) }
        }
        guard let timestamp, let seconds = Int64(timestamp), let signature else { throw Failure.malformed }
        let sent = Date(timeIntervalSince1970: TimeInterval(seconds))
        if sent < now - tolerance { throw Failure.stale }
        if sent > now + futureSkew { throw Failure.fromTheFuture }
        let expected = HMACSHA256.authenticate(parts: [Array((timestamp + ".").utf8), body], key: Array(secret.utf8))
        guard let given = [UInt8](hex: signature), constantTimeEquals(given, expected) else { throw Failure.mismatch }
    }

    /// The header value ElevenLabs would send: for tests and the fake.
    public static func header(body: [UInt8], secret: String, timestamp: Int64) -> String {
        let mac = HMACSHA256.authenticate(parts: [Array("\(timestamp).".utf8), body], key: Array(secret.utf8))
        return "t=\(timestamp),v0=\(mac.hexString)"
    }
}

import CryptoPrimitives
import Foundation
import KVStore

/// The token in an ElevenLabs key's own webhook URL, `/api/webhook/elevenlabs/<token>`.
///
/// ElevenLabs' signature does not say which workspace sent a webhook, so without a per-key
/// URL every saved secret had to be tried (one HMAC per tenant), and a transcript could land
/// on any tenant's call. With it, the path names the key: the body-size rule and the one
/// signature check are the key's own, and only that key's calls can be touched.
///
/// The token is 32 random bytes (43 base64url characters): not a secret on its own (the
/// signature still is), but unguessable, so an outsider cannot even reach a signature check.
public enum ElevenLabsWebhookToken {

    /// A well-formed token: 43 characters of the base64url alphabet. Checked before any lookup.
    public static func isWellFormed(_ token: Substring) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    static func hash(_ token: Substring) -> [UInt8] { SHA256.hash(Array(token.utf8)) }

    /// Gives the key a new token (replacing any old one, whose URL stops working) in `txn`.
    @discardableResult
    static func issue(for key: inout ElevenLabsKey, vault: Vault, database: Database, in txn: WriteTransaction) throws -> String {
        if let old = try token(of: key, vault: vault) { try database.elevenLabsWebhookTokens.delete(txn, hash(Substring(old))) }
        let token = Random.bytes(32).base64URLString
        key.webhookTokenSealed = try vault.seal(token, as: .elevenLabsWebhookToken, of: key.id)
        try database.elevenLabsWebhookTokens.put(txn, hash(Substring(token)), key.id)
        return token
    }

    static func token(of key: ElevenLabsKey, vault: Vault) throws -> String? {
        try key.webhookTokenSealed.map { try vault.open($0, as: .elevenLabsWebhookToken, of: key.id) }
    }

    /// The key whose webhook URL carries `token`, if any: one hash and one read.
    public static func key(for token: Substring, database: Database) throws -> ElevenLabsKey? {
        guard isWellFormed(token) else { return nil }
        return try database.environment.read { txn in
            try database.elevenLabsWebhookTokens.get(txn, hash(token)).flatMap { try database.elevenLabsKeys.get(txn, $0) }
        }
    }
}

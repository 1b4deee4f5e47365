import Foundation

/// Every secret the vault seals, by the table and field it lives in. Sealing, opening and
/// `VaultRotation` all name their field from this list, so a secret cannot be sealed under
/// one name and looked for under another, and a new secret is rotated as soon as it is listed
/// here (rotation switches over these cases exhaustively).
public enum SealedField: CaseIterable, Sendable {
    /// `accounts.api_key`: the Voximplant API key.
    case accountAPIKey
    /// `accounts.service_account`: the Voximplant service-account key file (its RSA private key).
    case accountServiceAccount
    /// `applications.webhook_secret`: what the generated scenario signs its events with.
    case applicationWebhookSecret
    /// `elevenlabs_keys.api_key`.
    case elevenLabsAPIKey
    /// `elevenlabs_keys.webhook_secret`: ElevenLabs' post-call webhook HMAC secret.
    case elevenLabsWebhookSecret
    /// `elevenlabs_keys.webhook_token`: the token in the key's own webhook URL.
    case elevenLabsWebhookToken
    /// `users.totp_secret`: a user's two-factor (TOTP) secret.
    case userTOTPSecret
    /// `users.totp_pending`: a TOTP secret being enrolled.
    case userTOTPPending
    /// `storage_settings.s3_secret`.
    case s3SecretKey
    /// `storage_settings.s3_session_token`.
    case s3SessionToken

    public var table: String {
        switch self {
        case .accountAPIKey, .accountServiceAccount: "accounts"
        case .applicationWebhookSecret: "applications"
        case .elevenLabsAPIKey, .elevenLabsWebhookSecret, .elevenLabsWebhookToken: "elevenlabs_keys"
        case .s3SecretKey, .s3SessionToken: "storage_settings"
        case .userTOTPSecret, .userTOTPPending: "users"
        }
    }

    public var field: String {
        switch self {
        case .accountAPIKey, .elevenLabsAPIKey: "api_key"
        case .accountServiceAccount: "service_account"
        case .applicationWebhookSecret, .elevenLabsWebhookSecret: "webhook_secret"
        case .elevenLabsWebhookToken: "webhook_token"
        case .s3SecretKey: "s3_secret"
        case .userTOTPSecret: "totp_secret"
        case .userTOTPPending: "totp_pending"
        case .s3SessionToken: "s3_session_token"
        }
    }

    /// The place of this field in record `id`: what its seal is bound to.
    public func place(_ id: UInt64) -> Vault.Place { Vault.Place(table, id, field) }
}

extension Vault {
    public func seal(_ secret: String, as field: SealedField, of id: UInt64) throws -> [UInt8] {
        try seal(secret, at: field.place(id))
    }

    public func open(_ sealed: [UInt8], as field: SealedField, of id: UInt64) throws -> String {
        try open(sealed, at: field.place(id))
    }
}

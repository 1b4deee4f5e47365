import CryptoPrimitives

/// Cross-site request forgery tokens.
///
/// A token is an HMAC, under a key derived from the master key, of what identifies the
/// visitor: the session token's hash when signed in, or a random pre-session cookie on the
/// login page. Nothing per-token is stored, a token cannot be moved to another visitor, and
/// signing in rotates it.
public struct CSRF: Sendable {
    let key: [UInt8]

    public init(key: [UInt8]) { self.key = key }

    public static let formField = "_csrf"
    public static let header = "x-csrf-token"

    public func token(binding: [UInt8]) -> String {
        HMACSHA256.authenticate(binding, key: key).base64URLString
    }

    public func isValid(_ candidate: String?, binding: [UInt8]) -> Bool {
        guard let candidate, let bytes = [UInt8](base64URL: candidate) else { return false }
        return constantTimeEquals(bytes, HMACSHA256.authenticate(binding, key: key))
    }
}

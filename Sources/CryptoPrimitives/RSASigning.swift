import COpenSSL

/// An RSA private key from PEM (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8 `BEGIN PRIVATE KEY`),
/// for RSASSA-PKCS1-v1_5 with SHA-256: the RS256 of JWS (RFC 7518 §3.3). Voximplant's
/// service-account tokens are signed this way.
///
/// The key is parsed once and held in libcrypto's memory; it is never written back out.
public final class RSAPrivateKey: @unchecked Sendable {
    // libcrypto's EVP_PKEY is reference counted and safe to use from several threads for
    // signing (each signature gets its own context), so the class can be shared.
    private let key: OpaquePointer

    /// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
    public static let minimumBits: Int32 = 2048

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadable
        case notRSA
        case tooShort(bits: Int32)

        public var description: String {
            switch self {
            case .unreadable: "the private key is not a PEM RSA key"
            case .notRSA: "the private key is not an RSA key"
            case let .tooShort(bits): "the RSA key has \(bits) bits; at least \(RSAPrivateKey.minimumBits) are needed"
            }
        }
    }

    public init(pem: String) throws {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            // No password callback: an encrypted key fails here instead of prompting on a tty.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        ERR_clear_error()
        guard let parsed else { throw Failure.unreadable }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else {
            EVP_PKEY_free(parsed)
            throw Failure.notRSA
        }
        let bits = EVP_PKEY_get_bits(parsed)
        guard bits >= Self.minimumBits else {
            EVP_PKEY_free(parsed)
            throw Failure.tooShort(bits: bits)
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    /// The RS256 signature of `message`: deterministic for a key and a message.
    public func signSHA256(_ message: some Collection<UInt8>) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL(function: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, Digest.sha256, nil, key) == 1 else {
            ERR_clear_error()
            throw CryptoError.openSSL(function: "EVP_DigestSignInit")
        }
        let input = Array(message)
        var length = 0
        guard input.withUnsafeBufferPointer({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }) == 1 else {
            ERR_clear_error()
            throw CryptoError.openSSL(function: "EVP_DigestSign")
        }
        var signature = [UInt8](repeating: 0, count: length)
        let rc = input.withUnsafeBufferPointer { data in
            signature.withUnsafeMutableBufferPointer { out in
                EVP_DigestSign(context, out.baseAddress, &length, data.baseAddress, data.count)
            }
        }
        guard rc == 1 else {
            ERR_clear_error()
            throw CryptoError.openSSL(function: "EVP_DigestSign")
        }
        return Array(signature.prefix(length))
    }
}

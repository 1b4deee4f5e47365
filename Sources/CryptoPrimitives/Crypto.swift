import COpenSSL

/// The libcrypto calls this project makes, wrapped once. Nothing outside this module sees an
/// OpenSSL pointer or return code.
public enum CryptoError: Error, CustomStringConvertible, Sendable {
    case openSSL(function: String)

    public var description: String {
        switch self {
        case let .openSSL(function): return "libcrypto: \(function) failed"
        }
    }
}

public enum Random {
    /// Cryptographically secure random bytes (RAND_bytes).
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let rc = bytes.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32(count)) }
        // RAND_bytes fails only when the system's entropy source is broken; nothing secure
        // can be done after that.
        precondition(rc == 1, "RAND_bytes failed: the system has no usable entropy source")
        return bytes
    }
}

public enum SHA256 {
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        let input = Array(data)
        input.withUnsafeBufferPointer { buffer in
            digest.withUnsafeMutableBufferPointer { out in
                _ = COpenSSL.SHA256(buffer.baseAddress, buffer.count, out.baseAddress)
            }
        }
        return digest
    }

    public static func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }
}

/// Incremental SHA-256 for streams (a recording that is hashed as it is uploaded).
public final class SHA256Stream {
    private let context = EVP_MD_CTX_new()

    public init() {
        EVP_DigestInit_ex(context, Digest.sha256, nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        digest.withUnsafeMutableBufferPointer { _ = EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        return digest
    }
}

/// HMAC-SHA256 (RFC 2104) over libcrypto's SHA-256 context. Why not OpenSSL's `HMAC()`: in
/// OpenSSL 3 that one-shot call fetches the MAC implementation from the provider on every use,
/// which cost more than the hashing itself for a webhook body; the construction is two hashes.
public enum HMACSHA256 {
    public static func authenticate(_ message: some Collection<UInt8>, key: some Collection<UInt8>) -> [UInt8] {
        authenticate(parts: [Array(message)], key: key)
    }

    public static func authenticate(_ message: String, key: some Collection<UInt8>) -> [UInt8] {
        authenticate(Array(message.utf8), key: key)
    }

    /// The MAC of the parts concatenated, without concatenating them. Both hashes go through
    /// one digest context: a webhook signs every event, and each context is an allocation.
    public static func authenticate(parts: [[UInt8]], key: some Collection<UInt8>) -> [UInt8] {
        let blockSize = 64
        var innerPad = [UInt8](repeating: 0x36, count: blockSize)
        var outerPad = [UInt8](repeating: 0x5c, count: blockSize)
        let short = key.count > blockSize ? SHA256.hash(key) : Array(key)
        for (index, byte) in short.enumerated() {
            innerPad[index] ^= byte
            outerPad[index] ^= byte
        }
        return Digest.withSHA256 { hash in
            let inner = hash { update in
                update(innerPad)
                parts.forEach(update)
            }
            return hash { update in
                update(outerPad)
                update(inner)
            }
        }
    }
}

/// SHA-256 through an EVP context with the implementation fetched once: passing
/// `EVP_sha256()` instead makes OpenSSL 3 look it up in the provider on every init.
enum Digest {
    nonisolated(unsafe) static let sha256 = EVP_MD_fetch(nil, "SHA256", nil)

    /// Feeds the parts to `update` in order: what one hash is of.
    typealias Input = (_ update: ([UInt8]) -> Void) -> Void

    /// Runs `body` with a function that hashes an input, each time anew, all through one
    /// context.
    static func withSHA256<R>(_ body: (_ hash: (Input) -> [UInt8]) -> R) -> R {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        return body { input in
            EVP_DigestInit_ex(context, sha256, nil)
            input { part in part.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) } }
            return [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
                var length: UInt32 = 0
                EVP_DigestFinal_ex(context, buffer.baseAddress, &length)
                count = Int(length)
            }
        }
    }
}

/// Compares in time that depends only on the lengths, never on where the bytes differ.
public func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    let a = Array(a), b = Array(b)
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 }
    }
}

public enum Scrypt {
    /// scrypt (RFC 7914) through EVP_PBE_scrypt.
    public static func derive(
        password: [UInt8], salt: [UInt8], logN: UInt8, r: UInt32, p: UInt32, length: Int
    ) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: length)
        let n = UInt64(1) << UInt64(logN)
        // Memory is 128·r·N bytes (plus p blocks); allow twice that.
        let maxMemory = 2 * (128 * UInt64(r) * n + 128 * UInt64(r) * UInt64(p)) + (1 << 20)
        // An empty password still needs a valid pointer.
        let passwordBytes = password.map { CChar(bitPattern: $0) } + [0]
        let rc = passwordBytes.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { s in
                key.withUnsafeMutableBufferPointer { out in
                    EVP_PBE_scrypt(
                        pw.baseAddress, password.count, s.baseAddress, s.count, n, UInt64(r), UInt64(p),
                        maxMemory, out.baseAddress, out.count)
                }
            }
        }
        guard rc == 1 else { throw CryptoError.openSSL(function: "EVP_PBE_scrypt") }
        return key
    }
}

import COpenSSL

/// HMAC-SHA1 (RFC 2104) through OpenSSL's one-shot HMAC: what TOTP is defined over. Used a
/// few times per sign-in, so the provider lookup it costs does not matter here.
public enum HMACSHA1 {
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                _ = HMAC(EVP_sha1(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                         &out, &length)
            }
        }
        return out
    }
}

/// RFC 4648 base32 (A–Z, 2–7), without padding: how authenticator apps take a secret.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int(buffer >> UInt32(bits - 5) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int(buffer << UInt32(5 - bits) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Case, spaces and padding are forgiven; any other character is nil.
    public static func decode(_ text: String) -> [UInt8]? {
        var out = [UInt8]()
        var buffer: UInt32 = 0
        var bits = 0
        for char in text.uppercased().utf8 where char != UInt8(ascii: " ") && char != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: char) else { return nil }
            buffer = buffer << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8(buffer >> UInt32(bits - 8) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}

/// Time-based one-time passwords, RFC 6238 with SHA-1, 30-second steps (what every
/// authenticator app does by default). Pure: the time is an argument.
public enum TOTP {
    public static let step: UInt64 = 30

    /// The code for the step that holds `unixTime`, `digits` long (RFC 4226 §5.3 truncation).
    public static func code(secret: [UInt8], unixTime: UInt64, digits: Int = 6) -> String {
        code(secret: secret, counter: unixTime / step, digits: digits)
    }

    public static func code(secret: [UInt8], counter: UInt64, digits: Int = 6) -> String {
        let message = (0..<8).map { UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64($0))) }
        let mac = HMACSHA1.authenticate(message, key: secret)
        let offset = Int(mac[19] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The step `code` belongs to within ±`window` steps of `unixTime`, or nil. The caller
    /// refuses a step at or before the last one used, so a code works once.
    public static func matchingStep(_ code: String, secret: [UInt8], unixTime: UInt64, window: UInt64 = 1) -> UInt64? {
        let code = code.filter { !$0.isWhitespace }
        guard code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else { return nil }
        let now = unixTime / step
        for counter in (now >= window ? now - window : 0)...(now + window) {
            if constantTimeEquals(Array(self.code(secret: secret, counter: counter).utf8), Array(code.utf8)) { return counter }
        }
        return nil
    }
}

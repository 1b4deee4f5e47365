import CryptoPrimitives
import Foundation

/// Password hashes in PHC string format: `$scrypt$ln=15,r=8,p=3$<salt>$<hash>`.
///
/// scrypt because it is memory-hard (GPU guessing costs memory, not just cycles) and ships in
/// libcrypto. The default cost is one of OWASP's equivalent scrypt settings (N=2^15, r=8, p=3,
/// 32 MiB per hash). The parameters live in each hash, so raising them later only needs
/// `needsRehash` at the next login.
public struct PasswordHasher: Sendable {
    public var logN: UInt8
    public var r: UInt32
    public var p: UInt32

    public static let standard = PasswordHasher(logN: 15, r: 8, p: 3)

    public init(logN: UInt8, r: UInt32, p: UInt32) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    public func hash(_ password: String) throws -> String {
        let salt = Random.bytes(16)
        let key = try Scrypt.derive(password: Array(password.utf8), salt: salt, logN: logN, r: r, p: p, length: 32)
        return "$scrypt$ln=\(logN),r=\(r),p=\(p)$\(salt.base64URLString)$\(key.base64URLString)"
    }

    /// Whether `password` matches `encoded`. A malformed hash is simply no match.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let parsed = Parsed(encoded),
              let key = try? Scrypt.derive(
                  password: Array(password.utf8), salt: parsed.salt, logN: parsed.logN, r: parsed.r, p: parsed.p,
                  length: parsed.hash.count)
        else { return false }
        return constantTimeEquals(key, parsed.hash)
    }

    /// Spends the same time as a real verification: used when the email is unknown, so that
    /// response time does not reveal which emails have accounts.
    public func verifyNothing(_ password: String) {
        _ = try? Scrypt.derive(password: Array(password.utf8), salt: [UInt8](repeating: 0, count: 16),
                               logN: logN, r: r, p: p, length: 32)
    }

    public func needsRehash(_ encoded: String) -> Bool {
        guard let parsed = Parsed(encoded) else { return true }
        return parsed.logN < logN || parsed.r < r || parsed.p < p
    }

    struct Parsed {
        var logN: UInt8, r: UInt32, p: UInt32
        var salt: [UInt8], hash: [UInt8]

        init?(_ encoded: String) {
            let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
            guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else { return nil }
            var params: [String: Int] = [:]
            for pair in fields[2].split(separator: ",") {
                let kv = pair.split(separator: "=")
                guard kv.count == 2, let value = Int(kv[1]) else { return nil }
                params[String(kv[0])] = value
            }
            guard let ln = params["ln"], (1...22).contains(ln), let r = params["r"], r > 0, r < 64,
                  let p = params["p"], p > 0, p < 64,
                  let salt = [UInt8](base64URL: String(fields[3])), let hash = [UInt8](base64URL: String(fields[4])),
                  !hash.isEmpty
            else { return nil }
            (self.logN, self.r, self.p, self.salt, self.hash) = (UInt8(ln), UInt32(r), UInt32(p), salt, hash)
        }
    }
}

import CryptoPrimitives
import Foundation

/// Seals secrets (API keys, webhook secrets, S3 credentials) with AES-256-GCM.
///
/// A sealed value is `0x01 | key id (u32 BE) | nonce (12) | ciphertext | tag (16)`. The
/// associated data names the table, record and field it belongs to, so a sealed value copied
/// into another record or field fails to open: moving ciphertext around is not a way to
/// read it. The key id says which master key opens it, so keys can rotate.
public struct Vault: Sendable {
    public let keyring: Keyring
    static let version: UInt8 = 1

    public init(keyring: Keyring) { self.keyring = keyring }

    /// Where a secret lives: the associated data of its seal.
    public struct Place: Sendable, Equatable {
        public var table: String
        public var recordID: UInt64
        public var field: String

        public init(_ table: String, _ recordID: UInt64, _ field: String) {
            self.table = table
            self.recordID = recordID
            self.field = field
        }

        var associatedData: [UInt8] { Array("voxfcgi/v1|\(table)|\(recordID)|\(field)".utf8) }
    }

    public enum VaultError: Error, CustomStringConvertible, Equatable {
        case malformed
        case unknownKey(UInt32)
        case cannotOpen(field: String)

        public var description: String {
            switch self {
            case .malformed: "a sealed value is malformed"
            case let .unknownKey(id): "a secret is sealed with master key \(id), which is not in the keyring"
            // Names the field, never the value.
            case let .cannotOpen(field): "the stored \(field) cannot be opened: it was altered or belongs to another record"
            }
        }
    }

    public func seal(_ secret: String, at place: Place) throws -> [UInt8] {
        let nonce = Random.bytes(AESGCM.nonceSize)
        var sealed: [UInt8] = [Vault.version]
        sealed.appendBigEndian(keyring.activeID)
        sealed += nonce
        sealed += try AESGCM.seal(Array(secret.utf8), key: keyring.activeKey, nonce: nonce, associatedData: place.associatedData)
        return sealed
    }

    public func open(_ sealed: [UInt8], at place: Place) throws -> String {
        guard let keyID = Vault.keyID(of: sealed) else { throw VaultError.malformed }
        guard let key = keyring.keys[keyID] else { throw VaultError.unknownKey(keyID) }
        let nonce = Array(sealed[5..<17])
        do {
            let plain = try AESGCM.open(Array(sealed[17...]), key: key, nonce: nonce, associatedData: place.associatedData)
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw VaultError.cannotOpen(field: place.field)
        }
    }

    /// Opens with whatever key sealed it and seals again under the active key.
    public func reseal(_ sealed: [UInt8], at place: Place) throws -> [UInt8] {
        try seal(try open(sealed, at: place), at: place)
    }

    public static func keyID(of sealed: [UInt8]) -> UInt32? {
        guard sealed.count >= 1 + 4 + AESGCM.nonceSize + AESGCM.tagSize, sealed[0] == version else { return nil }
        return sealed[1..<5].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// `••••••••wxyz`: enough to recognise a key, never enough to use it.
    public static func mask(_ secret: String) -> String {
        guard secret.count > 8 else { return String(repeating: "•", count: 8) }
        return String(repeating: "•", count: 8) + secret.suffix(4)
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}

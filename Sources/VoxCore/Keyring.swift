import CryptoPrimitives
import Foundation

/// The master keys: 256-bit keys, each with an id, that live outside LMDB. The one with the
/// highest id seals new secrets; the others still open what they sealed until retired.
///
/// Sources, first match wins:
/// - `VOXFCGI_MASTER_KEY`: one key as base64 (id 1), or `id:base64,id:base64,…`;
/// - the key file (0600): one key per line as `id base64`, created with one key on first start.
///   A file holding a bare base64 line (the first format) reads as key 1.
public struct Keyring: Sendable {
    public let keys: [UInt32: [UInt8]]
    public let activeID: UInt32

    public init(keys: [UInt32: [UInt8]]) {
        precondition(!keys.isEmpty && keys.values.allSatisfy { $0.count == 32 }, "master keys are 32 bytes each")
        self.keys = keys
        self.activeID = keys.keys.max()!
    }

    public var activeKey: [UInt8] { keys[activeID]! }

    public enum LoadError: Error, CustomStringConvertible {
        case malformed(source: String)
        case unreadable(path: String, reason: String)
        case tooOpen(path: String)
        case fromEnvironment

        public var description: String {
            switch self {
            case let .malformed(source): "the master key in \(source) is not well-formed (32 bytes of base64 per key)"
            case let .unreadable(path, reason): "cannot read or create the master key file \(path): \(reason)"
            case let .tooOpen(path): "the master key file \(path) is readable by others; run: chmod 600 \(path)"
            case .fromEnvironment: "the master keys come from VOXFCGI_MASTER_KEY: change that variable instead"
            }
        }
    }

    public static func load(path: String, environmentValue: String?) throws -> Keyring {
        if let value = environmentValue?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty {
            return try parse(value.replacingOccurrences(of: ",", with: "\n").replacingOccurrences(of: ":", with: " "),
                             source: "VOXFCGI_MASTER_KEY")
        }
        if !FileManager.default.fileExists(atPath: path) {
            try write(Keyring(keys: [1: Random.bytes(32)]), to: path, exclusive: true)
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 { throw LoadError.tooOpen(path: path) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LoadError.unreadable(path: path, reason: "not readable")
        }
        return try parse(text, source: path)
    }

    static func parse(_ text: String, source: String) throws -> Keyring {
        var keys: [UInt32: [UInt8]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            let (id, encoded): (UInt32?, Substring?) = fields.count == 1 ? (1, fields[0]) : fields.count == 2 ? (UInt32(fields[0]), fields[1]) : (nil, nil)
            guard let id, id > 0, let encoded, let data = Data(base64Encoded: String(encoded)), data.count == 32 else {
                throw LoadError.malformed(source: source)
            }
            keys[id] = Array(data)
        }
        guard !keys.isEmpty else { throw LoadError.malformed(source: source) }
        return Keyring(keys: keys)
    }

    /// Writes the whole keyring atomically (temporary file, fsync, rename), mode 0600.
    static func write(_ keyring: Keyring, to path: String, exclusive: Bool = false) throws {
        let text = keyring.keys.keys.sorted().map { "\($0) \(Data(keyring.keys[$0]!).base64EncodedString())" }
            .joined(separator: "\n") + "\n"
        let temporary = exclusive ? path : path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), 0o600)
        guard fd >= 0 else { throw LoadError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count else { throw LoadError.unreadable(path: path, reason: "short write") }
        if !exclusive {
            guard rename(temporary, path) == 0 else { throw LoadError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        }
    }

    /// Adds a new key (the next id) to the key file and returns the new keyring.
    public static func addKey(path: String) throws -> Keyring {
        let current = try load(path: path, environmentValue: nil)
        var keys = current.keys
        keys[current.activeID + 1] = Random.bytes(32)
        let next = Keyring(keys: keys)
        try write(next, to: path)
        return next
    }

    /// Removes a key that no secret uses any more (the caller checks) from the key file.
    public static func removeKey(_ id: UInt32, path: String) throws -> Keyring {
        let current = try load(path: path, environmentValue: nil)
        var keys = current.keys
        keys[id] = nil
        guard !keys.isEmpty, id != current.activeID else { throw LoadError.malformed(source: "retiring the active key") }
        let next = Keyring(keys: keys)
        try write(next, to: path)
        return next
    }

    /// A key for one purpose ("csrf"…) from the oldest key, so that rotating the vault's key
    /// does not sign everyone out or void open forms.
    public func derive(_ purpose: String) -> [UInt8] {
        HMACSHA256.authenticate("voxfcgi/" + purpose, key: keys[keys.keys.min()!]!)
    }
}

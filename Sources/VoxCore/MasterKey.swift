import CryptoPrimitives
import Foundation

/// The 256-bit key that everything secret derives from. It lives outside LMDB: in the
/// environment variable `VOXFCGI_MASTER_KEY` (base64), or in a 0600 file created on first start.
public struct MasterKey: Sendable {
    let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a master key is 32 bytes")
        self.bytes = bytes
    }

    public enum LoadError: Error, CustomStringConvertible {
        case malformed(source: String)
        case unreadable(path: String, reason: String)
        case tooOpen(path: String)

        public var description: String {
            switch self {
            case let .malformed(source): "the master key in \(source) is not 32 bytes of base64"
            case let .unreadable(path, reason): "cannot read or create the master key file \(path): \(reason)"
            case let .tooOpen(path): "the master key file \(path) is readable by others; run: chmod 600 \(path)"
            }
        }
    }

    /// From `environmentValue` if given, else from `path`, created with 0600 when missing.
    public static func load(path: String, environmentValue: String?) throws -> MasterKey {
        if let value = environmentValue, !value.isEmpty {
            guard let data = Data(base64Encoded: value.trimmingCharacters(in: .whitespacesAndNewlines)),
                  data.count == 32 else { throw LoadError.malformed(source: "VOXFCGI_MASTER_KEY") }
            return MasterKey(bytes: Array(data))
        }
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            let key = Random.bytes(32)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw LoadError.unreadable(path: path, reason: String(cString: strerror(errno))) }
            let text = Array((Data(key).base64EncodedString() + "\n").utf8)
            let written = text.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            close(fd)
            guard written == text.count else { throw LoadError.unreadable(path: path, reason: "short write") }
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 { throw LoadError.tooOpen(path: path) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LoadError.unreadable(path: path, reason: "not readable")
        }
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw LoadError.malformed(source: path)
        }
        return MasterKey(bytes: Array(data))
    }

    /// A key for one purpose ("csrf", "vault"…), so that no two uses share key material.
    public func derive(_ purpose: String) -> [UInt8] {
        HMACSHA256.authenticate("voxfcgi/" + purpose, key: bytes)
    }
}

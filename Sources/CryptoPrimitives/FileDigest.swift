import Foundation

/// Sizes and SHA-256 of files and parts of files, read in 1 MiB steps (constant memory,
/// whatever the size of the recording or upload part).
public enum FileDigest {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func size(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("stat \(path)") }
        return Int64(info.st_size)
    }

    /// The hex SHA-256 of `length` bytes of `path` from `offset`.
    public static func sha256(path: String, offset: Int64 = 0, length: Int64) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open \(path)") }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let hash = SHA256Stream()
        var offset = offset
        var remaining = length
        while remaining > 0 {
            let count = pread(descriptor, buffer.baseAddress, Int(min(Int64(buffer.count), remaining)), off_t(offset))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw failure("read \(path)") }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += Int64(count)
            remaining -= Int64(count)
        }
        return hash.finish().hexString
    }

    public static func sha256(file path: String) throws -> String {
        try sha256(path: path, length: size(path))
    }

    private static func failure(_ what: String) -> Failure {
        Failure(description: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// A validated object key: `/`-separated segments, each non-empty and neither `.` nor `..`,
/// no leading `/`, no control characters, at most 1024 bytes of UTF-8 (S3's limit).
///
/// S3 itself accepts almost any key; these rules are ours, so that every key maps to a path
/// under the local store's root and nowhere else, and behaves the same in both stores.
public struct ObjectKey: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws {
        guard !rawValue.isEmpty else { throw ObjectStoreError.invalidKey("empty") }
        guard rawValue.utf8.count <= 1024 else { throw ObjectStoreError.invalidKey("longer than 1024 bytes") }
        guard !rawValue.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ObjectStoreError.invalidKey("control characters")
        }
        for segment in rawValue.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty else { throw ObjectStoreError.invalidKey("empty path segment (leading, trailing or double /)") }
            guard segment != "." && segment != ".." else { throw ObjectStoreError.invalidKey("'.' or '..' segment") }
        }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}

import Essentials
import Foundation
import HTTPTransport

/// Where recordings are kept: local disk (the default) or an S3-compatible bucket.
///
/// Every method is synchronous and may block on I/O; callers are job threads and request
/// threads, never an event loop. Implementations are safe to share between threads.
public protocol ObjectStore: Sendable {
    /// A short name for logs and the Setup page ("local disk", "s3://bucket").
    var label: String { get }

    /// Stores the bytes of the file at `path` under `key`, replacing any object there. Reads
    /// the file as it sends it: memory stays flat whatever the size. When it returns, the
    /// object is complete and durable; on failure nothing half-written is visible under `key`.
    @discardableResult
    func put(_ key: ObjectKey, fromFile path: String, contentType: String) throws -> ObjectInfo

    /// Stores what `source` produces, as it produces it: no copy of the whole on local disk
    /// (S3 gets it in multipart parts held in memory one at a time), for streams whose size is
    /// not known in advance (a backup being compressed). Same guarantees as `put(fromFile:)`.
    @discardableResult
    func put(_ key: ObjectKey, from source: any ByteSource, contentType: String) throws -> ObjectInfo

    /// Writes the object's bytes to the file at `path`. Throws `.notFound` if there is none.
    func get(_ key: ObjectKey, toFile path: String) throws

    /// Hands `body` the object's bytes as a stream (a bulk export reads recordings so, one at
    /// a time). Throws `.notFound` if there is none.
    func read(_ key: ObjectKey, _ body: (any ByteSource) throws -> Void) throws

    /// The object's size and type, or nil if there is none.
    func head(_ key: ObjectKey) throws -> ObjectInfo?

    /// Removes the object. Removing what is not there is not an error.
    func delete(_ key: ObjectKey) throws

    /// Every object whose key starts with `prefix`, in key order.
    func list(prefix: String) throws -> [ObjectInfo]

    /// How a browser gets the object: an internal redirect for nginx to serve from disk, or
    /// a presigned URL straight to the bucket.
    func access(_ key: ObjectKey, _ options: AccessOptions) throws -> ObjectAccess
}

/// Bytes produced on demand: `read` fills as much of `buffer` as it has (at least one byte
/// unless the stream has ended) and returns how many; 0 means the end.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ObjectStore {
    /// By way of a temporary file of this one object, deleted after: a store without a
    /// streaming read of its own (S3 downloads with resumable retries to a file).
    public func read(_ key: ObjectKey, _ body: (any ByteSource) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("voxfcgi-read-" + UUID().uuidString).path
        defer { unlink(path) }
        try get(key, toFile: path)
        try FileCopy.readFile(path, body)
    }
}

extension ByteSource {
    /// Fills `buffer` completely, or up to the end of the stream; returns the count.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }
}

public struct ObjectInfo: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var contentType: String?
    public var etag: String?

    public init(key: String, size: Int64, contentType: String? = nil, etag: String? = nil) {
        self.key = key
        self.size = size
        self.contentType = contentType
        self.etag = etag
    }
}

public struct AccessOptions: Sendable {
    public var contentType: String
    /// Set for "Download": the file name the browser saves under.
    public var downloadName: String?
    /// How long a presigned URL stays valid.
    public var expiresIn: TimeInterval = 300

    public init(contentType: String, downloadName: String? = nil, expiresIn: TimeInterval = 300) {
        self.contentType = contentType
        self.downloadName = downloadName
        self.expiresIn = expiresIn
    }

    /// `attachment; filename="…"; filename*=UTF-8''…`: the ASCII fallback for old clients,
    /// the exact name for the rest (RFC 6266).
    public var contentDisposition: String? {
        guard let name = downloadName else { return nil }
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 ? Character($0) : "_" })
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(PercentEncoding.encode(name))"
    }
}

public enum ObjectAccess: Sendable, Equatable {
    /// A path under nginx's internal location: answer with `X-Accel-Redirect` to it.
    case internalRedirect(String)
    /// A URL the browser may fetch directly for a short while.
    case url(String)
}

public enum ObjectStoreError: Error, CustomStringConvertible, Equatable {
    case notFound(key: String)
    case invalidKey(String)
    /// The store refused: wrong credentials, no such bucket, no permission. Retrying will not help.
    case refused(status: Int, code: String, message: String)
    /// The store failed or could not be reached; worth trying again later.
    case unavailable(String)
    case io(String)

    public var description: String {
        switch self {
        case let .notFound(key): "no object at \(key)"
        case let .invalidKey(reason): "invalid object key: \(reason)"
        case let .refused(status, code, message): "the store refused the request (\(status) \(code)): \(message)"
        case let .unavailable(reason): "the store is unavailable: \(reason)"
        case let .io(reason): reason
        }
    }

    /// Whether a later attempt may succeed.
    public var isTransient: Bool {
        switch self {
        case .unavailable, .io: true
        case .notFound, .invalidKey, .refused: false
        }
    }
}

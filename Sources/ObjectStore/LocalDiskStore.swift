import Essentials
import Foundation
import HTTPTransport

/// Objects as files under `root/objects/<key>`, written to `root/tmp` first and renamed into
/// place after an fsync, so a reader (nginx) never sees half a file and a crash leaves at
/// worst a stray temporary file, never a truncated object.
///
/// nginx serves the bytes: `access` answers with a path under `internalLocation`, an
/// `internal` location aliased to `root/objects/` (see nginx/voxfcgi-locations.conf), which
/// also gives Range requests (seeking) for free.
public struct LocalDiskStore: ObjectStore {
    public let root: String
    public let internalLocation: String

    public init(root: String, internalLocation: String = "/_recordings/") throws {
        self.root = root
        self.internalLocation = internalLocation
        for directory in [objectsDirectory, temporaryDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    public var label: String { "local disk (\(root))" }

    /// Removes temporary files left by a process that died mid-write (the store's own, and the
    /// downloads the archive job keeps here). Call at start-up, before anything writes.
    @discardableResult
    public func removeLeftovers() -> Int {
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory)) ?? []
        for name in leftovers { unlink(temporaryDirectory + "/" + name) }
        return leftovers.count
    }
    var objectsDirectory: String { root + "/objects" }
    /// Files in progress. Callers may put their own here too (downloads to archive): on the
    /// same file system as the objects, and cleared by `removeLeftovers`.
    public var temporaryDirectory: String { root + "/tmp" }

    /// Safe by construction: `ObjectKey` has no empty, `.` or `..` segments and no leading `/`.
    func path(_ key: ObjectKey) -> String { objectsDirectory + "/" + key.rawValue }

    @discardableResult
    public func put(_ key: ObjectKey, fromFile source: String, contentType: String) throws -> ObjectInfo {
        let target = path(key)
        let temporary = temporaryDirectory + "/" + UUID().uuidString
        let size: Int64
        do {
            size = try FileCopy.copy(from: source, to: temporary, sync: true)
            let parent = (target as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            guard rename(temporary, target) == 0 else { throw FileCopy.error("rename to \(key)") }
            FileCopy.syncDirectory(parent)
        } catch {
            unlink(temporary)
            throw error
        }
        return ObjectInfo(key: key.rawValue, size: size, contentType: contentType)
    }

    @discardableResult
    public func put(_ key: ObjectKey, from source: any ByteSource, contentType: String) throws -> ObjectInfo {
        let target = path(key)
        let temporary = temporaryDirectory + "/" + UUID().uuidString
        do {
            let size = try FileCopy.copy(from: source, to: temporary)
            let parent = (target as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            guard rename(temporary, target) == 0 else { throw FileCopy.error("rename to \(key)") }
            FileCopy.syncDirectory(parent)
            return ObjectInfo(key: key.rawValue, size: size, contentType: contentType)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    public func get(_ key: ObjectKey, toFile destination: String) throws {
        guard FileManager.default.fileExists(atPath: path(key)) else { throw ObjectStoreError.notFound(key: key.rawValue) }
        _ = try FileCopy.copy(from: path(key), to: destination, sync: false)
    }

    public func head(_ key: ObjectKey) throws -> ObjectInfo? {
        var info = stat()
        guard stat(path(key), &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileCopy.error("stat \(key)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return ObjectInfo(key: key.rawValue, size: Int64(info.st_size))
    }

    public func delete(_ key: ObjectKey) throws {
        guard unlink(path(key)) == 0 || errno == ENOENT || errno == ENOTDIR else { throw FileCopy.error("delete \(key)") }
        // Empty directories left by retention would pile up over the years.
        var directory = (path(key) as NSString).deletingLastPathComponent
        while directory.count > objectsDirectory.count, rmdir(directory) == 0 {
            directory = (directory as NSString).deletingLastPathComponent
        }
    }

    public func list(prefix: String) throws -> [ObjectInfo] {
        guard let walker = FileManager.default.enumerator(atPath: objectsDirectory) else { return [] }
        var found: [ObjectInfo] = []
        while let relative = walker.nextObject() as? String {
            let attributes = walker.fileAttributes
            guard attributes?[.type] as? FileAttributeType == .typeRegular else {
                // Descend only where the prefix can still match.
                if !(relative.hasPrefix(prefix) || prefix.hasPrefix(relative + "/")) { walker.skipDescendants() }
                continue
            }
            if relative.hasPrefix(prefix) {
                found.append(ObjectInfo(key: relative, size: (attributes?[.size] as? NSNumber)?.int64Value ?? 0))
            }
        }
        return found.sorted { $0.key < $1.key }
    }

    public func access(_ key: ObjectKey, _ options: AccessOptions) throws -> ObjectAccess {
        .internalRedirect(internalLocation + PercentEncoding.encode(key.rawValue, keepSlash: true))
    }

    /// The file itself, read from its start.
    public func read(_ key: ObjectKey, _ body: (any ByteSource) throws -> Void) throws {
        guard FileManager.default.fileExists(atPath: path(key)) else { throw ObjectStoreError.notFound(key: key.rawValue) }
        try FileCopy.readFile(path(key), body)
    }
}

/// File copies in 1 MiB steps through one reused buffer.
enum FileCopy {
    static func readFile(_ path: String, _ body: (any ByteSource) throws -> Void) throws {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        // Gone between the look and the open (retention): the same answer as not there.
        if input < 0, errno == ENOENT { throw ObjectStoreError.notFound(key: (path as NSString).lastPathComponent) }
        guard input >= 0 else { throw error("open \(path)") }
        defer { close(input) }
        try body(FileSource(descriptor: input, path: path))
    }

    final class FileSource: ByteSource {
        let descriptor: Int32
        let path: String
        init(descriptor: Int32, path: String) {
            self.descriptor = descriptor
            self.path = path
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            while true {
                let count = Foundation.read(descriptor, buffer.baseAddress, buffer.count)
                if count >= 0 { return count }
                if errno != EINTR { throw error("read \(path)") }
            }
        }
    }

    static func copy(from source: String, to destination: String, sync: Bool) throws -> Int64 {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw error("open \(source)") }
        defer { close(input) }
        return try copy(from: FileSource(descriptor: input, path: source), to: destination, sync: sync)
    }

    /// Writes everything `source` produces to `destination` (fsync'd when `sync`); returns
    /// the size. A long stream (a backup) is flushed every `flushEvery` bytes as it goes:
    /// hundreds of MB of dirty pages flushed at once made the worker's own commit fsyncs wait
    /// behind them (webhook p99 from 5 ms to 200 ms during a backup, `make bench`).
    static let flushEvery: Int64 = 16 << 20

    static func copy(from source: any ByteSource, to destination: String, sync: Bool = true) throws -> Int64 {
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard output >= 0 else { throw error("create \(destination)") }
        defer { close(output) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { break }
            var written = 0
            while written < count {
                let step = write(output, buffer.baseAddress! + written, count - written)
                if step < 0 { if errno == EINTR { continue }; throw error("write \(destination)") }
                written += step
            }
            let before = total / flushEvery
            total += Int64(count)
            if sync, total / flushEvery != before, fdatasync(output) != 0 { throw error("fdatasync \(destination)") }
        }
        if sync, fsync(output) != 0 { throw error("fsync \(destination)") }
        return total
    }

    /// Makes a rename durable: the directory entry is on disk too.
    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    static func error(_ what: String) -> ObjectStoreError {
        .io("\(what): \(String(cString: strerror(errno)))")
    }
}

import Compression
import CryptoPrimitives
import Foundation
import KVStore
import ObjectStore
import Threads
import VoxCore

/// What a backup is: written next to its snapshot as `backups/<name>.json`, read before
/// anything is restored from it.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public var format = BackupManifest.currentFormat
    public var name: String
    /// When the snapshot's read transaction began: everything committed before is in it.
    public var createdAt: Date
    public var finishedAt: Date
    public var schemaVersion: UInt32
    /// The compacted environment (`data.mdb` once restored), and the object as stored (gzip).
    public var databaseBytes: Int64
    public var size: Int64
    /// SHA-256 of the object as stored, hex.
    public var sha256: String
    /// The master keys its sealed secrets need: the key file (or variable) must hold these on
    /// the machine it is restored on. Never the keys themselves.
    public var masterKeyIDs: [UInt32]
    public var programVersion: String

    public var snapshotKey: String { Backups.prefix + name + ".mdb.gz" }
    public var manifestKey: String { Backups.prefix + name + ".json" }
}

public enum BackupError: Error, CustomStringConvertible, Equatable {
    case badName(String)
    case notFound(String)
    case folderInUse(String)
    case corrupt(String)
    case newerSchema(UInt32)
    case snapshotFailed(String)

    public var description: String {
        switch self {
        case let .badName(name): "“\(name.prefix(80))” is not a backup name (voxfcgi-YYYYMMDDTHHMMSSZ)"
        case let .notFound(name): "there is no backup \(name) in this store"
        case let .folderInUse(path): "\(path) is not empty: restore into a new, empty data folder (a live one is never overwritten)"
        case let .corrupt(reason): "the backup does not verify: \(reason)"
        case let .newerSchema(version): "the backup has schema \(version), newer than this program's \(Database.schemaVersion): restore it with a newer voxfcgi"
        case let .snapshotFailed(reason): "the LMDB snapshot failed: \(reason)"
        }
    }
}

/// Online backups of the LMDB environment into the recordings store, and their restore.
///
/// `create` streams LMDB's compacting copy (`mdb_env_copyfd2` with `MDB_CP_COMPACT`) through
/// a pipe into gzip and on into the store as it is produced: no stopped worker, no copy of the
/// whole on local disk, memory flat (a pipe buffer, zlib's window, one S3 part).
public struct Backups: Sendable {
    public static let prefix = "backups/"

    let database: Database
    let vault: Vault
    let stores: RecordingStores
    let clock: any Clock
    let programVersion: String

    public init(database: Database, vault: Vault, stores: RecordingStores, clock: any Clock = SystemClock(),
                programVersion: String = "dev") {
        self.database = database
        self.vault = vault
        self.stores = stores
        self.clock = clock
        self.programVersion = programVersion
    }

    /// The runs so far, for the Backups page.
    public var log: BackupLog { BackupLog(database: database) }

    /// A name per second, sortable: `voxfcgi-20261202T221500Z`.
    static func name(at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "voxfcgi-" + formatter.string(from: date)
    }

    /// Names are checked before they become object keys or paths.
    public static func isValidName(_ name: String) -> Bool {
        name.utf8.count == 24 && name.hasPrefix("voxfcgi-")
            && name.utf8.dropFirst(8).enumerated().allSatisfy { index, byte in
                switch index {
                case 8: byte == UInt8(ascii: "T")
                case 15: byte == UInt8(ascii: "Z")
                default: byte >= 0x30 && byte <= 0x39
                }
            }
    }

    /// Takes a backup now into the current recordings store; records the outcome for the
    /// Backups page either way.
    @discardableResult
    public func create() throws -> BackupManifest {
        let started = clock.now()
        do {
            let manifest = try snapshot(startedAt: started)
            try BackupLog(database: database).record(.init(at: started, name: manifest.name, size: manifest.size, error: nil))
            return manifest
        } catch {
            try? BackupLog(database: database).record(.init(at: started, name: nil, size: nil, error: "\(error)"))
            throw error
        }
    }

    private func snapshot(startedAt: Date) throws -> BackupManifest {
        let (_, store) = try stores.current()
        let name = Backups.name(at: startedAt)
        // Taken before and after the copy: a rotation in between may leave secrets under
        // either, so the manifest names both.
        let rotation = VaultRotation(database: database, vault: vault)
        var keyIDs = Set(try rotation.usage().keys)

        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { throw BackupError.snapshotFailed("pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (descriptors[0], descriptors[1])
        let copyResult = ResultBox()
        let environment = database.environment
        let copier = try JoinableThread(name: "backup-copy") {
            do { try environment.copy(to: writeEnd, compact: true) } catch { copyResult.set(error) }
            close(writeEnd)
        }
        let source = try CompressingSource(descriptor: readEnd)
        let stored: ObjectInfo
        do {
            stored = try store.put(try ObjectKey(Backups.prefix + name + ".mdb.gz"), from: source, contentType: "application/gzip")
        } catch {
            // The copier may be blocked writing into the pipe: closing the read end ends it (EPIPE).
            close(readEnd)
            copier.join()
            throw error
        }
        close(readEnd)
        copier.join()
        if let failure = copyResult.error {
            try? store.delete(try ObjectKey(Backups.prefix + name + ".mdb.gz"))
            throw BackupError.snapshotFailed("\(failure)")
        }
        keyIDs.formUnion(try rotation.usage().keys)
        let manifest = BackupManifest(
            name: name, createdAt: startedAt, finishedAt: clock.now(), schemaVersion: Database.schemaVersion,
            databaseBytes: source.rawBytes, size: stored.size, sha256: source.digest.hexString,
            masterKeyIDs: keyIDs.sorted(), programVersion: programVersion)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try store.put(try ObjectKey(manifest.manifestKey), from: BytesSource(Array(try encoder.encode(manifest))),
                      contentType: "application/json")
        return manifest
    }

    /// Every backup in the current store with a readable manifest, newest first.
    public func list() throws -> [BackupManifest] {
        try Backups.list(in: try stores.current().store, temporaryDirectory: stores.temporaryDirectory)
    }

    public static func list(in store: any ObjectStore, temporaryDirectory: String) throws -> [BackupManifest] {
        try store.list(prefix: prefix).filter { $0.key.hasSuffix(".json") }.compactMap { info in
            let name = String(info.key.dropFirst(prefix.count).dropLast(5))
            guard isValidName(name) else { return nil }
            return try? manifest(name, in: store, temporaryDirectory: temporaryDirectory)
        }.sorted { $0.createdAt > $1.createdAt }
    }

    static func manifest(_ name: String, in store: any ObjectStore, temporaryDirectory: String) throws -> BackupManifest {
        guard isValidName(name) else { throw BackupError.badName(name) }
        let temporary = temporaryDirectory + "/manifest-" + UUID().uuidString
        defer { unlink(temporary) }
        do {
            try store.get(try ObjectKey(prefix + name + ".json"), toFile: temporary)
        } catch ObjectStoreError.notFound {
            throw BackupError.notFound(name)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: temporary))
        guard data.count <= 64 * 1024 else { throw BackupError.corrupt("the manifest is too large") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let manifest = try? decoder.decode(BackupManifest.self, from: data), manifest.name == name,
              manifest.format == BackupManifest.currentFormat
        else { throw BackupError.corrupt("the manifest of \(name) cannot be read") }
        return manifest
    }

    /// Deletes the backups the policy does not keep; returns their names.
    @discardableResult
    public func prune(_ policy: BackupPolicy) throws -> [String] {
        let store = try stores.current().store
        let all = try list()
        let keep = policy.kept(all.map { ($0.name, $0.createdAt) })
        var removed: [String] = []
        for manifest in all where !keep.contains(manifest.name) {
            // The manifest goes last: a half-pruned backup is still listed and pruned next time.
            try store.delete(try ObjectKey(manifest.snapshotKey))
            try store.delete(try ObjectKey(manifest.manifestKey))
            removed.append(manifest.name)
        }
        return removed
    }
}

/// Reads LMDB's copy from a pipe and hands it on gzip-compressed, hashing and counting.
final class CompressingSource: ByteSource {
    let descriptor: Int32
    let compressor: Gzip.Compressor
    let hash = SHA256Stream()
    private(set) var rawBytes: Int64 = 0
    private var pending: [UInt8] = []
    private var offset = 0
    private var finished = false
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private(set) var digest: [UInt8] = []

    init(descriptor: Int32) throws {
        self.descriptor = descriptor
        compressor = try Gzip.Compressor()
    }

    deinit { input.deallocate() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == pending.count {
            if finished { return 0 }
            let count = Foundation.read(descriptor, input.baseAddress, input.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw BackupError.snapshotFailed("reading the copy: \(String(cString: strerror(errno)))")
            }
            if count == 0 {
                pending = try compressor.finish()
                finished = true
                digest = { pending.withUnsafeBytes { hash.update($0) }; return hash.finish() }()
            } else {
                rawBytes += Int64(count)
                pending = try compressor.feed(UnsafeRawBufferPointer(rebasing: input[0..<count]))
                pending.withUnsafeBytes { hash.update($0) }
            }
            offset = 0
        }
        let count = min(buffer.count, pending.count - offset)
        pending.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// A few bytes in memory as a stream (a manifest).
final class BytesSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
        offset += count
        return count
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ error: Error) { lock.lock(); stored = error; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}

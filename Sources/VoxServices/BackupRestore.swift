import Compression
import CryptoPrimitives
import Foundation
import KVStore
import ObjectStore
import VoxCore

/// Restores a backup into a new data folder: never over a live one. The snapshot is fetched,
/// its size and SHA-256 checked against the manifest, decompressed into `lmdb/data.mdb`, and
/// the result opened to check its schema. The master keys its secrets need are named; the
/// caller says whether this machine's keyring has them.
public enum BackupRestore {
    public struct Outcome: Sendable {
        public let manifest: BackupManifest
        /// Master key ids the manifest names that `keyring` lacks: the saved API keys will not
        /// open until the key file holds them.
        public let missingKeyIDs: [UInt32]
    }

    public static func restore(_ name: String, from store: any ObjectStore, intoDataFolder folder: String,
                               keyring: Keyring?) throws -> Outcome {
        guard Backups.isValidName(name) else { throw BackupError.badName(name) }
        let manager = FileManager.default
        if manager.fileExists(atPath: folder), let entries = try? manager.contentsOfDirectory(atPath: folder), !entries.isEmpty {
            throw BackupError.folderInUse(folder)
        }
        let lmdb = folder + "/lmdb"
        try manager.createDirectory(atPath: lmdb, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let manifest = try Backups.manifest(name, in: store, temporaryDirectory: lmdb)
        guard manifest.schemaVersion <= Database.schemaVersion else { throw BackupError.newerSchema(manifest.schemaVersion) }

        let compressed = lmdb + "/restore.gz.partial"
        let partial = lmdb + "/data.mdb.partial"
        defer { unlink(compressed); unlink(partial) }
        try store.get(try ObjectKey(manifest.snapshotKey), toFile: compressed)
        let size = try FileDigest.size(compressed)
        guard size == manifest.size else { throw BackupError.corrupt("\(size) bytes, the manifest says \(manifest.size)") }
        guard try FileDigest.sha256(file: compressed) == manifest.sha256 else {
            throw BackupError.corrupt("its SHA-256 is not the manifest's")
        }
        let written = try decompress(compressed, to: partial)
        guard written == manifest.databaseBytes else {
            throw BackupError.corrupt("it decompresses to \(written) bytes, the manifest says \(manifest.databaseBytes)")
        }
        guard rename(partial, lmdb + "/data.mdb") == 0 else { throw BackupError.corrupt("cannot rename into place") }
        // Opening checks the schema (and migrates an older one, as any start would).
        _ = try Database(path: lmdb)
        let missing = manifest.masterKeyIDs.filter { keyring?.keys[$0] == nil }
        return Outcome(manifest: manifest, missingKeyIDs: missing)
    }

    /// gunzips `source` into `destination`, fsync'd; returns the bytes written.
    static func decompress(_ source: String, to destination: String) throws -> Int64 {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw BackupError.corrupt("cannot open the download") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw BackupError.corrupt("cannot create \(destination)") }
        defer { close(output) }
        let decompressor = try Gzip.Decompressor()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = read(input, buffer.baseAddress, buffer.count)
            if count < 0 { if errno == EINTR { continue }; throw BackupError.corrupt("reading the download failed") }
            if count == 0 { break }
            do {
                try decompressor.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { chunk in
                    var done = 0
                    while done < chunk.count {
                        let step = write(output, chunk.baseAddress! + done, chunk.count - done)
                        if step < 0 { if errno == EINTR { continue }; throw BackupError.corrupt("writing data.mdb failed") }
                        done += step
                    }
                    total += Int64(chunk.count)
                }
            } catch let failure as Gzip.Failure {
                throw BackupError.corrupt(failure.description)
            }
        }
        guard decompressor.isFinished else { throw BackupError.corrupt("the gzip stream ends early") }
        guard fsync(output) == 0 else { throw BackupError.corrupt("fsync of data.mdb failed") }
        return total
    }
}

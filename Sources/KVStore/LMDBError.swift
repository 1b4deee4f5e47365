import CLMDB

/// An LMDB return code as a Swift error, named after its C constant so that a log line or a
/// failing test says `MDB_MAP_FULL`, not `-30792`.
public struct LMDBError: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    public static let keyExists = LMDBError(MDB_KEYEXIST)
    public static let notFound = LMDBError(MDB_NOTFOUND)
    public static let mapFull = LMDBError(MDB_MAP_FULL)
    public static let mapResized = LMDBError(MDB_MAP_RESIZED)
    public static let readersFull = LMDBError(MDB_READERS_FULL)
    public static let badValueSize = LMDBError(MDB_BAD_VALSIZE)
    public static let badTransaction = LMDBError(MDB_BAD_TXN)

    public var name: String {
        switch code {
        case MDB_KEYEXIST: return "MDB_KEYEXIST"
        case MDB_NOTFOUND: return "MDB_NOTFOUND"
        case MDB_PAGE_NOTFOUND: return "MDB_PAGE_NOTFOUND"
        case MDB_CORRUPTED: return "MDB_CORRUPTED"
        case MDB_PANIC: return "MDB_PANIC"
        case MDB_VERSION_MISMATCH: return "MDB_VERSION_MISMATCH"
        case MDB_INVALID: return "MDB_INVALID"
        case MDB_MAP_FULL: return "MDB_MAP_FULL"
        case MDB_DBS_FULL: return "MDB_DBS_FULL"
        case MDB_READERS_FULL: return "MDB_READERS_FULL"
        case MDB_TLS_FULL: return "MDB_TLS_FULL"
        case MDB_TXN_FULL: return "MDB_TXN_FULL"
        case MDB_CURSOR_FULL: return "MDB_CURSOR_FULL"
        case MDB_PAGE_FULL: return "MDB_PAGE_FULL"
        case MDB_MAP_RESIZED: return "MDB_MAP_RESIZED"
        case MDB_INCOMPATIBLE: return "MDB_INCOMPATIBLE"
        case MDB_BAD_RSLOT: return "MDB_BAD_RSLOT"
        case MDB_BAD_TXN: return "MDB_BAD_TXN"
        case MDB_BAD_VALSIZE: return "MDB_BAD_VALSIZE"
        case MDB_BAD_DBI: return "MDB_BAD_DBI"
        default:
            if let errno = POSIXErrorName(code) { return errno }
            return "LMDB(\(code))"
        }
    }

    public var description: String {
        "\(name): \(String(cString: mdb_strerror(code)))"
    }
}

/// LMDB passes errno values through for system failures (ENOENT, EACCES, ENOSPC…).
private func POSIXErrorName(_ code: Int32) -> String? {
    switch code {
    case 2: return "ENOENT"
    case 5: return "EIO"
    case 12: return "ENOMEM"
    case 13: return "EACCES"
    case 16: return "EBUSY"
    case 22: return "EINVAL"
    case 28: return "ENOSPC"
    default: return nil
    }
}

/// Turns a C return code into a thrown `LMDBError`. The one place where LMDB codes are read.
@usableFromInline @inline(__always)
func check(_ rc: Int32) throws {
    if rc != 0 { throw LMDBError(rc) }
}

/// Errors of the typed layer itself (not LMDB's).
public enum KVStoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The data folder was written by a newer VoxFCGI than this one.
    case schemaTooNew(stored: UInt32, supported: UInt32)
    /// A stored key or value could not be decoded with its table's codec.
    case corruptRecord(table: String, reason: String)
    /// A key was longer than LMDB's compile-time maximum (511 bytes on Debian).
    case keyTooLong(table: String, length: Int)
    /// The write needed the map to grow past `Environment.Options.maxMapSize`.
    case mapCeiling(bytes: Int)

    public var description: String {
        switch self {
        case let .schemaTooNew(stored, supported):
            return "the data folder has schema version \(stored), but this build supports up to \(supported); "
                + "run a newer voxfcgi or restore a backup made by this version"
        case let .corruptRecord(table, reason):
            return "a record in table '\(table)' could not be decoded: \(reason)"
        case let .keyTooLong(table, length):
            return "a key of \(length) bytes is too long for table '\(table)'"
        case let .mapCeiling(bytes):
            return "the database is full: it reached its size ceiling of \(bytes >> 20) MiB (raise VOXFCGI_MAP_MAX_MB, "
                + "or free disk space and data); nothing of this write was stored"
        }
    }
}

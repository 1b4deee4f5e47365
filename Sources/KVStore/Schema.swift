/// The schema version of a data folder, kept in the `meta` table and checked at open.
///
/// A folder written by a newer build refuses to open, with a message that says so: running
/// old code over new data is how records get silently dropped. An older version runs the
/// migrations the caller supplies, in one write transaction, then records the new version.
public struct Schema {
    public let version: UInt32
    let meta: Table<StringKey, BytesValue>

    static let versionKey = "schema_version"

    /// Opens the meta table, creates the version on a fresh folder, migrates an older one,
    /// and refuses a newer one.
    public init(
        environment: Environment, version: UInt32,
        migrate: (_ from: UInt32, WriteTransaction) throws -> Void = { _, _ in }
    ) throws {
        let meta = try environment.openTable("meta", key: StringKey.self, value: BytesValue.self)
        try environment.write { txn in
            let stored = try meta.get(txn, Schema.versionKey).map(Schema.decodeVersion)
            try Schema.refuse(stored: stored, supported: version)
            if let stored, stored < version {
                try migrate(stored, txn)
            }
            if stored != version {
                var bytes: [UInt8] = []
                bytes.appendBigEndian(version)
                try meta.put(txn, Schema.versionKey, bytes)
            }
        }
        self.version = version
        self.meta = meta
    }

    /// Throws unless this build can open the folder: before its tables are opened, since
    /// opening one creates it when missing.
    public static func check(_ environment: Environment, supports version: UInt32) throws {
        try refuse(stored: storedVersion(in: environment), supported: version)
    }

    private static func refuse(stored: UInt32?, supported version: UInt32) throws {
        if let stored, stored > version { throw KVStoreError.schemaTooNew(stored: stored, supported: version) }
    }

    public static func storedVersion(in environment: Environment) throws -> UInt32? {
        let meta = try environment.openTable("meta", key: StringKey.self, value: BytesValue.self)
        return try environment.read { txn in
            try meta.get(txn, versionKey).map(decodeVersion)
        }
    }

    static func decodeVersion(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            return (try? reader.readBigEndian(UInt32.self)) ?? 0
        }
    }
}

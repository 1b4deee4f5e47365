import Foundation
import KVStore

/// Re-seals every secret under the vault's active key, in small committed batches: a pass
/// that is interrupted leaves each secret either old-sealed or new-sealed (both open), and the
/// next pass carries on where it stopped.
public struct VaultRotation {
    let database: Database
    let vault: Vault

    public init(database: Database, vault: Vault) {
        self.database = database
        self.vault = vault
    }

    /// One sealed field: its table, and how to reach the field in a record.
    struct Field<Record: Codable> {
        let table: Table<UInt64Key, JSONValue<Record>>
        let sealed: SealedField
        let get: (Record) -> [UInt8]?
        let set: (inout Record, [UInt8]) -> Void

        init(table: Table<UInt64Key, JSONValue<Record>>, sealed: SealedField, get: @escaping (Record) -> [UInt8]?,
             set: @escaping (inout Record, [UInt8]) -> Void) {
            // The place a secret is sealed at names its table; a field listed against the wrong
            // table would re-seal values that then no longer open. Checked in every debug run.
            assert(table.name == sealed.table, "\(sealed) lives in \(sealed.table), not \(table.name)")
            self.table = table
            self.sealed = sealed
            self.get = get
            self.set = set
        }
    }

    /// Secrets per master key id: what `retire` checks before removing a key.
    public func usage() throws -> [UInt32: Int] {
        var usage: [UInt32: Int] = [:]
        try visitAll { sealed, _ in
            if let id = Vault.keyID(of: sealed) { usage[id, default: 0] += 1 }
        }
        return usage
    }

    /// Re-seals up to `limit` secrets (all when nil) that are not under the active key.
    /// Returns how many it re-sealed and how many remain.
    @discardableResult
    public func run(limit: Int? = nil, batch: Int = 100) throws -> (resealed: Int, remaining: Int) {
        var resealed = 0
        func reseal<R>(_ field: Field<R>) throws { try resealAll(field, limit: limit, batch: batch, resealed: &resealed) }
        try forEachField(reseal, reseal, reseal, reseal, reseal)
        let remaining = try usage().filter { $0.key != vault.keyring.activeID }.values.reduce(0, +)
        return (resealed, remaining)
    }

    /// Every `SealedField`, with the closure for its record type (Swift has no heterogeneous
    /// generic list). The switch is exhaustive: a field added to `SealedField` does not compile
    /// until it is rotated too.
    private func forEachField(_ accounts: (Field<Account>) throws -> Void, _ apps: (Field<Application>) throws -> Void,
                              _ keys: (Field<ElevenLabsKey>) throws -> Void,
                              _ storage: (Field<StorageSettings>) throws -> Void,
                              _ users: (Field<User>) throws -> Void) rethrows {
        for sealed in SealedField.allCases {
            switch sealed {
            case .accountAPIKey:
                try accounts(Field(table: database.accounts, sealed: sealed, get: \.apiKeySealed, set: { $0.apiKeySealed = $1 }))
            case .accountServiceAccount:
                try accounts(Field(table: database.accounts, sealed: sealed, get: \.serviceAccountSealed,
                                   set: { $0.serviceAccountSealed = $1 }))
            case .applicationWebhookSecret:
                try apps(Field(table: database.applications, sealed: sealed, get: \.webhookSecretSealed,
                               set: { $0.webhookSecretSealed = $1 }))
            case .elevenLabsAPIKey:
                try keys(Field(table: database.elevenLabsKeys, sealed: sealed, get: { $0.apiKeySealed }, set: { $0.apiKeySealed = $1 }))
            case .elevenLabsWebhookSecret:
                try keys(Field(table: database.elevenLabsKeys, sealed: sealed, get: \.webhookSecretSealed,
                               set: { $0.webhookSecretSealed = $1 }))
            case .elevenLabsWebhookToken:
                try keys(Field(table: database.elevenLabsKeys, sealed: sealed, get: \.webhookTokenSealed,
                               set: { $0.webhookTokenSealed = $1 }))
            case .s3SecretKey:
                try storage(Field(table: database.storageSettings, sealed: sealed, get: \.s3SecretSealed, set: { $0.s3SecretSealed = $1 }))
            case .userTOTPSecret:
                try users(Field(table: database.users, sealed: sealed, get: \.totpSecretSealed, set: { $0.totpSecretSealed = $1 }))
            case .userTOTPPending:
                try users(Field(table: database.users, sealed: sealed, get: \.totpPendingSealed, set: { $0.totpPendingSealed = $1 }))
            case .s3SessionToken:
                try storage(Field(table: database.storageSettings, sealed: sealed, get: \.s3SessionTokenSealed,
                                  set: { $0.s3SessionTokenSealed = $1 }))
            }
        }
    }

    private func visitAll(_ visit: ([UInt8], Vault.Place) -> Void) throws {
        try database.environment.read { txn in
            func scan<R>(_ field: Field<R>) throws {
                try field.table.scan(txn) { id, record in
                    if let sealed = field.get(record) { visit(sealed, field.sealed.place(id)) }
                    return true
                }
            }
            try forEachField(scan, scan, scan, scan, scan)
        }
    }

    private func resealAll<R>(_ field: Field<R>, limit: Int?, batch: Int, resealed: inout Int) throws {
        let active = vault.keyring.activeID
        let stale = try database.environment.read { txn in
            try field.table.entries(txn).filter { entry in
                field.get(entry.value).flatMap(Vault.keyID(of:)).map { $0 != active } ?? false
            }.map(\.key)
        }
        var index = 0
        while index < stale.count {
            if let limit, resealed >= limit { return }
            let size = min(batch, stale.count - index, limit.map { $0 - resealed } ?? Int.max)
            let ids = stale[index..<index + size]
            try database.environment.write { txn in
                for id in ids {
                    guard var record = try field.table.get(txn, id), let sealed = field.get(record),
                          Vault.keyID(of: sealed) != active else { continue }
                    field.set(&record, try vault.reseal(sealed, at: field.sealed.place(id)))
                    try field.table.put(txn, id, record)
                }
            }
            resealed += size
            index += size
        }
    }
}

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

    /// One kind of sealed field: which table, and how to reach the field in a record.
    struct Field<Record: Codable> {
        let table: Table<UInt64Key, JSONValue<Record>>
        let name: String
        let get: (Record) -> [UInt8]?
        let set: (inout Record, [UInt8]) -> Void
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
        try forEachField(reseal, reseal, reseal, reseal)
        let remaining = try usage().filter { $0.key != vault.keyring.activeID }.values.reduce(0, +)
        return (resealed, remaining)
    }

    /// The sealed fields, one closure per record type (Swift has no heterogeneous generic list).
    private func forEachField(_ body: (Field<Account>) throws -> Void, _ apps: (Field<Application>) throws -> Void,
                              _ keys: (Field<ElevenLabsKey>) throws -> Void,
                              _ storage: (Field<StorageSettings>) throws -> Void) rethrows {
        try body(Field(table: database.accounts, name: "api_key", get: \.apiKeySealed, set: { $0.apiKeySealed = $1 }))
        try apps(Field(table: database.applications, name: "webhook_secret", get: \.webhookSecretSealed,
                       set: { $0.webhookSecretSealed = $1 }))
        try keys(Field(table: database.elevenLabsKeys, name: "api_key", get: { $0.apiKeySealed }, set: { $0.apiKeySealed = $1 }))
        try keys(Field(table: database.elevenLabsKeys, name: "webhook_secret", get: \.webhookSecretSealed,
                       set: { $0.webhookSecretSealed = $1 }))
        try keys(Field(table: database.elevenLabsKeys, name: ElevenLabsWebhookToken.field, get: \.webhookTokenSealed,
                       set: { $0.webhookTokenSealed = $1 }))
        try storage(Field(table: database.storageSettings, name: StorageSettings.secretPlace.field, get: \.s3SecretSealed,
                          set: { $0.s3SecretSealed = $1 }))
        try storage(Field(table: database.storageSettings, name: StorageSettings.sessionTokenPlace.field,
                          get: \.s3SessionTokenSealed, set: { $0.s3SessionTokenSealed = $1 }))
    }

    private func visitAll(_ visit: ([UInt8], Vault.Place) -> Void) throws {
        try database.environment.read { txn in
            func scan<R>(_ field: Field<R>) throws {
                try field.table.scan(txn) { id, record in
                    if let sealed = field.get(record) { visit(sealed, Vault.Place(field.table.name, id, field.name)) }
                    return true
                }
            }
            try forEachField(scan, scan, scan, scan)
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
                    field.set(&record, try vault.reseal(sealed, at: Vault.Place(field.table.name, id, field.name)))
                    try field.table.put(txn, id, record)
                }
            }
            resealed += size
            index += size
        }
    }
}

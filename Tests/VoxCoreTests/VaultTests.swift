import Foundation
import Testing
@testable import VoxCore

@Suite struct VaultTests {
    let vault = Vault(keyring: Keyring(keys: [1: [UInt8](repeating: 3, count: 32)]))
    let place = Vault.Place("accounts", 7, "api_key")

    @Test func roundTripAndFreshNonce() throws {
        let a = try vault.seal("secret-api-key-123", at: place)
        let b = try vault.seal("secret-api-key-123", at: place)
        #expect(a != b)
        #expect(try vault.open(a, at: place) == "secret-api-key-123")
        #expect(Vault.keyID(of: a) == 1)
        #expect(a.count == 1 + 4 + 12 + 18 + 16)
    }

    @Test func anyTamperedByteFails() throws {
        let sealed = try vault.seal("secret-api-key-123", at: place)
        // Ciphertext, nonce and tag: flip one byte in each.
        for index in [20, 8, sealed.count - 1] {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: Vault.VaultError.cannotOpen(field: "api_key")) { try vault.open(tampered, at: place) }
        }
        var truncated = sealed
        truncated.removeLast(20)
        #expect(throws: (any Error).self) { try vault.open(truncated, at: place) }
    }

    @Test func movedCiphertextFails() throws {
        let sealed = try vault.seal("secret-api-key-123", at: place)
        for other in [Vault.Place("accounts", 8, "api_key"), Vault.Place("accounts", 7, "webhook_secret"),
                      Vault.Place("applications", 7, "api_key")] {
            #expect(throws: Vault.VaultError.self) { try vault.open(sealed, at: other) }
        }
    }

    @Test func errorsNeverCarryTheSecret() throws {
        var sealed = try vault.seal("very-secret-value", at: place)
        sealed[25] ^= 1
        do {
            _ = try vault.open(sealed, at: place)
        } catch {
            #expect(!String(describing: error).contains("very-secret"))
        }
        #expect(Vault.mask("sk_live_abcdefgh1234") == "••••••••1234")
        #expect(Vault.mask("short") == "••••••••")
    }

    @Test func keyringFileRotationAndRetire() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Keyring.load(path: path, environmentValue: nil)
        #expect(first.activeID == 1)
        let second = try Keyring.addKey(path: path)
        #expect(second.activeID == 2 && second.keys.count == 2)
        #expect(try Keyring.load(path: path, environmentValue: nil).activeID == 2)
        // Derived keys (CSRF) survive rotation.
        #expect(first.derive("csrf") == second.derive("csrf"))
        #expect(throws: (any Error).self) { _ = try Keyring.removeKey(2, path: path) }
        #expect(try Keyring.removeKey(1, path: path).keys.keys.sorted() == [2])
        let env = try Keyring.load(path: "/nonexistent", environmentValue: "1:\(Data(repeating: 1, count: 32).base64EncodedString()),2:\(Data(repeating: 2, count: 32).base64EncodedString())")
        #expect(env.activeID == 2)
    }

    @Test func rotationResealsEverythingAndSurvivesInterruption() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rot-\(UUID())").path
        let keyFile = path + ".key"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: keyFile)
        }
        let database = try Database(path: path)
        let oldVault = Vault(keyring: try Keyring.load(path: keyFile, environmentValue: nil))
        try database.environment.write { txn in
            for id in UInt64(1)...250 {
                let sealed = try oldVault.seal("key-\(id)", at: Vault.Place("accounts", id, "api_key"))
                try database.accounts.put(txn, id, Account(id: id, ownerUserID: 1, voximplantAccountID: "\(id)", name: "a", apiKeySealed: sealed))
            }
            for id in UInt64(1)...19 {
                let sealed = try oldVault.seal("el-\(id)", at: Vault.Place("elevenlabs_keys", id, "api_key"))
                try database.elevenLabsKeys.put(txn, id, ElevenLabsKey(id: id, ownerUserID: 1, name: "k", apiKeySealed: sealed, baseURL: "x"))
            }
            // The S3 secret of the recording storage is a secret like the others.
            var storage = StorageSettings()
            storage.s3SecretSealed = try oldVault.seal("s3-secret", at: StorageSettings.secretPlace)
            try database.storageSettings.put(txn, StorageSettings.recordID, storage)
        }
        let newVault = Vault(keyring: try Keyring.addKey(path: keyFile))
        let rotation = VaultRotation(database: database, vault: newVault)
        // Interrupted after 120 secrets: some old, some new, all still open.
        let partial = try rotation.run(limit: 120, batch: 50)
        #expect(partial.resealed == 120)
        #expect(partial.remaining == 150)
        #expect(try rotation.usage() == [1: 150, 2: 120])
        try database.environment.read { txn in
            for id in UInt64(1)...250 {
                let account = try database.accounts.get(txn, id)!
                #expect(try newVault.open(account.apiKeySealed!, at: Vault.Place("accounts", id, "api_key")) == "key-\(id)")
            }
        }
        // Resumed: finishes the rest, then nothing is left on key 1.
        let rest = try rotation.run()
        #expect(rest.resealed == 150)
        #expect(rest.remaining == 0)
        #expect(try rotation.usage() == [2: 270])
        let retired = Vault(keyring: try Keyring.removeKey(1, path: keyFile))
        try database.environment.read { txn in
            let key = try database.elevenLabsKeys.get(txn, 19)!
            #expect(try retired.open(key.apiKeySealed, at: Vault.Place("elevenlabs_keys", 19, "api_key")) == "el-19")
            let storage = try database.storageSettings.get(txn, StorageSettings.recordID)!
            #expect(try retired.open(storage.s3SecretSealed!, at: StorageSettings.secretPlace) == "s3-secret")
        }
    }

    @Test func plaintextNeverReachesTheDataFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let secret = "vox-api-key-ZX81-spectrum-4242"
        do {
            let database = try Database(path: path)
            try database.environment.write { txn in
                let sealed = try vault.seal(secret, at: Vault.Place("accounts", 1, "api_key"))
                try database.accounts.put(txn, 1, Account(id: 1, ownerUserID: 1, voximplantAccountID: "1", name: "a", apiKeySealed: sealed))
            }
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb"))
        #expect(bytes.range(of: Data(secret.utf8)) == nil)
        #expect(bytes.range(of: Data("ZX81-spectrum".utf8)) == nil)
    }
}

import Foundation
import Testing
@testable import VoxCore

/// Issue 12, section 4: what Setup lets one tenant connect cannot reach another's.
@Suite struct SetupTenancyTests {
    let vault = Vault(keyring: Keyring(keys: [1: [UInt8](repeating: 5, count: 32)]))

    /// Users only: every account, key and application comes through Setup.
    final class Fixture {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("setup-\(UUID())").path
        let database: Database
        let admin: User, alice: User, bob: User

        init() throws {
            database = try Database(path: path)
            let users = Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
            admin = try users.create(email: "admin@example.com", role: .admin, password: "admin password")
            alice = try users.create(email: "alice@example.com", role: .operator, password: "alice password")
            bob = try users.create(email: "bob@example.com", role: .operator, password: "bob password 1")
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func aVoximplantAccountIsConnectedOnce() throws {
        let f = try Fixture()
        let setup = SetupService(database: f.database, vault: vault)
        // The fixture's accounts were written raw; Setup's own records hold the index.
        _ = try setup.addAccount(owner: f.alice, name: "Mine", voximplantAccountID: "777", apiKey: "key-key-key-1")
        #expect(throws: SetupError.self) {
            try setup.addAccount(owner: f.bob, name: "Also mine", voximplantAccountID: "777", apiKey: "key-key-key-2")
        }
        let bobs = try setup.addAccount(owner: f.bob, name: "Bob's", voximplantAccountID: "778", apiKey: "key-key-key-3")
        #expect(throws: SetupError.self) {
            try setup.updateAccount(id: bobs.id, viewer: f.bob, name: "Bob's", voximplantAccountID: "777", apiKey: nil)
        }
        // Once deleted, the account can be connected again.
        let alices = try #require(try setup.accounts(viewer: f.alice).first { $0.voximplantAccountID == "777" })
        try setup.deleteAccount(id: alices.id, viewer: f.alice)
        _ = try setup.addAccount(owner: f.bob, name: "Now Bob's", voximplantAccountID: "777", apiKey: "key-key-key-4")
        #expect(throws: SetupError.self) {
            try setup.addAccount(owner: f.bob, name: "Too long", voximplantAccountID: String(repeating: "9", count: 600), apiKey: "key-key-key-5")
        }
    }

    @Test func anApplicationJoinsAnAccountAndAKeyOfTheSameOwner() throws {
        let f = try Fixture()
        let setup = SetupService(database: f.database, vault: vault)
        let account = try setup.addAccount(owner: f.alice, name: "A", voximplantAccountID: "901", apiKey: "key-key-key-1")
        let bobsKey = try setup.addElevenLabsKey(owner: f.bob, name: "Bob's key", apiKey: "el-key-bob-1")
        #expect(throws: SetupError.self) {
            try setup.createApplication(viewer: f.admin, accountID: account.id, name: "Mixed", phoneNumber: "+74951234567",
                                        agentID: "agent", elevenLabsKeyID: bobsKey.id, record: false)
        }
    }

    @Test func webhookSecretsAreLongAndRotate() throws {
        let f = try Fixture()
        let setup = SetupService(database: f.database, vault: vault)
        #expect(throws: SetupError.self) {
            try setup.addElevenLabsKey(owner: f.alice, name: "K", apiKey: "el-key-alice", webhookSecret: "short")
        }
        let key = try setup.addElevenLabsKey(owner: f.alice, name: "K", apiKey: "el-key-alice",
                                             webhookSecret: String(repeating: "s", count: 32))
        let url = try setup.elevenLabsWebhookURL(for: key, publicURL: "https://panel.example/")
        let token = try #require(url.split(separator: "/").last)
        #expect(url.hasPrefix("https://panel.example/api/webhook/elevenlabs/") && token.count == 43)
        #expect(try ElevenLabsWebhookToken.key(for: token, database: f.database)?.id == key.id)
        // One character changed (to one it is not: the token is random, 1 in 64 starts with "A").
        let altered = Substring((token.first == "A" ? "B" : "A") + token.dropFirst())
        #expect(try ElevenLabsWebhookToken.key(for: altered, database: f.database) == nil)

        let account = try setup.addAccount(owner: f.alice, name: "A", voximplantAccountID: "902", apiKey: "key-key-key-1")
        let app = try setup.createApplication(viewer: f.alice, accountID: account.id, name: "App", phoneNumber: "+74951234567",
                                              agentID: "agent", elevenLabsKeyID: key.id, record: false)
        let before = try setup.scenarioSecrets(for: app, viewer: f.alice)
        try setup.rotateWebhookSecret(applicationID: app.id, viewer: f.alice)
        let rotated = try setup.application(id: app.id, viewer: f.alice)
        let after = try setup.scenarioSecrets(for: rotated, viewer: f.alice)
        #expect(before.map(\.name) == ["VOXFCGI_ELEVENLABS_API_KEY", "VOXFCGI_WEBHOOK_SECRET"])
        #expect(before[0].value == after[0].value && before[1].value != after[1].value)
        #expect(throws: SetupError.notFound) { try setup.rotateWebhookSecret(applicationID: app.id, viewer: f.bob) }
    }
}

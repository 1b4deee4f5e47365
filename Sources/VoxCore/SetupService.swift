import CryptoPrimitives
import Foundation
import KVStore

public enum SetupError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case notFound
    case inUse(String)

    public var description: String {
        switch self {
        case let .invalid(message): message
        case .notFound: "no such record"
        case let .inUse(message): message
        }
    }
}

/// Accounts, ElevenLabs keys and applications: what an operator sets up. Secrets are sealed
/// inside the same transaction that hands out the record id, because the id is part of what
/// the seal is bound to.
public struct SetupService: Sendable {
    let database: Database
    let vault: Vault

    public init(database: Database, vault: Vault) {
        self.database = database
        self.vault = vault
    }

    /// The records of `table` the viewer may see.
    private func visibleRecords<R: Codable>(_ table: Table<UInt64Key, JSONValue<R>>, viewer: User, owner: (R) -> UInt64) throws -> [R] {
        try database.environment.read { txn in
            try table.entries(txn).map(\.value).filter { viewer.visibility.allows(owner: owner($0)) }
        }
    }

    /// One record, if the viewer may see it; someone else's is `notFound`, like a missing one.
    private func visibleRecord<R: Codable>(_ table: Table<UInt64Key, JSONValue<R>>, id: UInt64, viewer: User,
                                           owner: (R) -> UInt64) throws -> R {
        guard let record = try database.environment.read({ txn in try table.get(txn, id) }),
              viewer.visibility.allows(owner: owner(record)) else { throw SetupError.notFound }
        return record
    }

    // MARK: Voximplant accounts

    public func accounts(viewer: User) throws -> [Account] {
        try visibleRecords(database.accounts, viewer: viewer) { $0.ownerUserID }
    }

    public func account(id: UInt64, viewer: User) throws -> Account {
        try visibleRecord(database.accounts, id: id, viewer: viewer) { $0.ownerUserID }
    }

    static func validateAccount(name: String, accountID: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SetupError.invalid("Give the account a name.") }
        guard (1...20).contains(accountID.utf8.count), accountID.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw SetupError.invalid("The Voximplant account id is a number (see the control panel).")
        }
    }

    @discardableResult
    public func addAccount(owner: User, name: String, voximplantAccountID: String, apiKey: String) throws -> Account {
        try SetupService.validateAccount(name: name, accountID: voximplantAccountID)
        guard apiKey.count >= 8 else { throw SetupError.invalid("Paste the account's API key.") }
        return try database.environment.write { txn in
            try claim(voximplantAccountID, for: nil, in: txn)
            let id = try database.nextID("accounts", in: txn)
            let account = Account(id: id, ownerUserID: owner.id, voximplantAccountID: voximplantAccountID, name: name,
                                  apiKeySealed: try vault.seal(apiKey, as: .accountAPIKey, of: id))
            try database.accounts.put(txn, id, account)
            try database.accountsByVoximplantID.put(txn, voximplantAccountID, id)
            return account
        }
    }

    /// One Voximplant account belongs to one tenant here: its call history and its events
    /// would otherwise be two tenants' calls at once. Refused, with a message, when another
    /// record (`except` is the one being edited) already holds it.
    private func claim(_ voximplantAccountID: String, for except: UInt64?, in txn: WriteTransaction) throws {
        if let holder = try database.accountsByVoximplantID.get(txn, voximplantAccountID), holder != except {
            throw SetupError.invalid("Voximplant account \(voximplantAccountID) is already connected here (by you or another user); each account can be connected once.")
        }
    }

    /// An empty `apiKey` keeps the saved one: the key is write-only.
    public func updateAccount(id: UInt64, viewer: User, name: String, voximplantAccountID: String, apiKey: String?,
                              currency: String? = nil) throws {
        try SetupService.validateAccount(name: name, accountID: voximplantAccountID)
        _ = try account(id: id, viewer: viewer)
        try database.environment.write { txn in
            guard var account = try database.accounts.get(txn, id) else { throw SetupError.notFound }
            if account.voximplantAccountID != voximplantAccountID {
                try claim(voximplantAccountID, for: id, in: txn)
                try database.accountsByVoximplantID.delete(txn, account.voximplantAccountID)
                try database.accountsByVoximplantID.put(txn, voximplantAccountID, id)
            }
            account.name = name
            account.voximplantAccountID = voximplantAccountID
            if let currency { account.currency = currency }
            if let apiKey, !apiKey.isEmpty {
                account.apiKeySealed = try vault.seal(apiKey, as: .accountAPIKey, of: id)
            }
            try database.accounts.put(txn, id, account)
        }
    }

    public func setActive(accountID: UInt64, viewer: User, active: Bool) throws {
        _ = try account(id: accountID, viewer: viewer)
        try database.environment.write { txn in
            guard var account = try database.accounts.get(txn, accountID) else { throw SetupError.notFound }
            account.active = active
            try database.accounts.put(txn, accountID, account)
        }
    }

    /// Refused while applications use the account: their calls would lose their owner.
    public func deleteAccount(id: UInt64, viewer: User) throws {
        _ = try account(id: id, viewer: viewer)
        try database.environment.write { txn in
            let users = try database.applications.entries(txn).filter { $0.value.accountID == id }
            guard users.isEmpty else {
                throw SetupError.inUse("Applications use this account (\(users.map(\.value.name).joined(separator: ", "))). Disable it instead.")
            }
            if let account = try database.accounts.get(txn, id),
               try database.accountsByVoximplantID.get(txn, account.voximplantAccountID) == id {
                try database.accountsByVoximplantID.delete(txn, account.voximplantAccountID)
            }
            try database.accounts.delete(txn, id)
        }
    }

    public func apiKeyMask(_ account: Account) -> String {
        guard let sealed = account.apiKeySealed,
              let key = try? vault.open(sealed, as: .accountAPIKey, of: account.id) else { return "not saved" }
        return Vault.mask(key)
    }

    // MARK: ElevenLabs keys

    public func elevenLabsKeys(viewer: User) throws -> [ElevenLabsKey] {
        try visibleRecords(database.elevenLabsKeys, viewer: viewer) { $0.ownerUserID }
    }

    public func elevenLabsKey(id: UInt64, viewer: User) throws -> ElevenLabsKey {
        try visibleRecord(database.elevenLabsKeys, id: id, viewer: viewer) { $0.ownerUserID }
    }

    @discardableResult
    public func addElevenLabsKey(owner: User, name: String, apiKey: String, baseURL: String = "",
                                 webhookSecret: String? = nil) throws -> ElevenLabsKey {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SetupError.invalid("Give the key a name.") }
        guard apiKey.count >= 8 else { throw SetupError.invalid("Paste the ElevenLabs API key.") }
        return try database.environment.write { txn in
            let id = try database.nextID("elevenlabs_keys", in: txn)
            var key = ElevenLabsKey(id: id, ownerUserID: owner.id, name: name,
                                    apiKeySealed: try vault.seal(apiKey, as: .elevenLabsAPIKey, of: id),
                                    baseURL: baseURL)
            if let webhookSecret, !webhookSecret.isEmpty {
                try SetupService.validateWebhookSecret(webhookSecret)
                key.webhookSecretSealed = try vault.seal(webhookSecret, as: .elevenLabsWebhookSecret, of: id)
            }
            try ElevenLabsWebhookToken.issue(for: &key, vault: vault, database: database, in: txn)
            try database.elevenLabsKeys.put(txn, id, key)
            return key
        }
    }

    /// Webhook secrets are long random strings (ElevenLabs' own are); a short one could be
    /// guessed offline from one signed request.
    public static let minimumWebhookSecretLength = 32

    static func validateWebhookSecret(_ secret: String) throws {
        guard secret.count >= minimumWebhookSecretLength else {
            throw SetupError.invalid("A webhook secret has at least \(minimumWebhookSecretLength) characters: paste the one ElevenLabs shows when the webhook is created.")
        }
    }

    /// Saves (or replaces) the key's post-call webhook secret.
    public func setElevenLabsWebhookSecret(keyID: UInt64, viewer: User, secret: String) throws {
        try SetupService.validateWebhookSecret(secret)
        _ = try elevenLabsKey(id: keyID, viewer: viewer)
        try database.environment.write { txn in
            guard var key = try database.elevenLabsKeys.get(txn, keyID) else { throw SetupError.notFound }
            key.webhookSecretSealed = try vault.seal(secret, as: .elevenLabsWebhookSecret, of: keyID)
            try database.elevenLabsKeys.put(txn, keyID, key)
        }
    }

    /// The key's own post-call webhook URL. A key saved before these URLs existed gets its
    /// token here, once.
    public func elevenLabsWebhookURL(for key: ElevenLabsKey, publicURL: String) throws -> String {
        let base = publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/api/webhook/elevenlabs/"
        if let token = try ElevenLabsWebhookToken.token(of: key, vault: vault) { return base + token }
        let token = try database.environment.write { txn -> String in
            guard var stored = try database.elevenLabsKeys.get(txn, key.id) else { throw SetupError.notFound }
            if let token = try ElevenLabsWebhookToken.token(of: stored, vault: vault) { return token }
            let token = try ElevenLabsWebhookToken.issue(for: &stored, vault: vault, database: database, in: txn)
            try database.elevenLabsKeys.put(txn, key.id, stored)
            return token
        }
        return base + token
    }

    public func deleteElevenLabsKey(id: UInt64, viewer: User) throws {
        let key = try elevenLabsKey(id: id, viewer: viewer)
        let token = try ElevenLabsWebhookToken.token(of: key, vault: vault)
        try database.environment.write { txn in
            guard try database.applications.entries(txn).allSatisfy({ $0.value.elevenLabsKeyID != id }) else {
                throw SetupError.inUse("Applications use this key.")
            }
            if let token { try database.elevenLabsWebhookTokens.delete(txn, ElevenLabsWebhookToken.hash(Substring(token))) }
            try database.elevenLabsKeys.delete(txn, id)
        }
    }

    public func keyMask(_ key: ElevenLabsKey) -> String {
        (try? vault.open(key.apiKeySealed, as: .elevenLabsAPIKey, of: key.id)).map(Vault.mask) ?? "unreadable"
    }

    // MARK: Applications

    public func applications(viewer: User) throws -> [Application] {
        let owned = Set(try accounts(viewer: viewer).map(\.id))
        return try database.environment.read { txn in
            try database.applications.entries(txn).map(\.value).filter { owned.contains($0.accountID) }
        }
    }

    public func application(id: UInt64, viewer: User) throws -> Application {
        guard let application = try database.environment.read({ txn in try database.applications.get(txn, id) }) else {
            throw SetupError.notFound
        }
        _ = try account(id: application.accountID, viewer: viewer)
        return application
    }

    @discardableResult
    public func createApplication(viewer: User, accountID: UInt64, name: String, phoneNumber: String, agentID: String,
                                  elevenLabsKeyID: UInt64, record: Bool) throws -> Application {
        let account = try self.account(id: accountID, viewer: viewer)
        let key = try self.elevenLabsKey(id: elevenLabsKeyID, viewer: viewer)
        // Transcripts reach a call only through its own tenant's key (see ConversationLink);
        // an admin linking one tenant's account to another's key would break that silently.
        guard account.ownerUserID == key.ownerUserID else {
            throw SetupError.invalid("The Voximplant account and the ElevenLabs key belong to different users; use a key of the account's owner.")
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SetupError.invalid("Give the application a name.") }
        guard !PhoneNumber.digits(phoneNumber).isEmpty else { throw SetupError.invalid("Choose a phone number.") }
        guard !agentID.isEmpty else { throw SetupError.invalid("Enter the ElevenLabs agent id.") }
        let secret = SetupService.newWebhookSecret()
        return try database.environment.write { txn in
            let id = try database.nextID("applications", in: txn)
            var application = Application(id: id, accountID: accountID, name: name, elevenLabsAgentID: agentID,
                                          phoneNumber: phoneNumber,
                                          webhookSecretSealed: try vault.seal(secret, as: .applicationWebhookSecret, of: id))
            application.elevenLabsKeyID = elevenLabsKeyID
            application.record = record
            try database.applications.put(txn, id, application)
            return application
        }
    }

    /// 32 random bytes as 43 base64url characters.
    static func newWebhookSecret() -> String { Random.bytes(32).base64URLString }

    /// Gives the application a new webhook secret. Events signed with the old one are refused
    /// from now on, so the scenario must be deployed again (the page says so).
    public func rotateWebhookSecret(applicationID: UInt64, viewer: User) throws {
        _ = try application(id: applicationID, viewer: viewer)
        let secret = SetupService.newWebhookSecret()
        try database.environment.write { txn in
            guard var application = try database.applications.get(txn, applicationID) else { throw SetupError.notFound }
            application.webhookSecretSealed = try vault.seal(secret, as: .applicationWebhookSecret, of: applicationID)
            try database.applications.put(txn, applicationID, application)
        }
    }

    /// The scenario code. It holds no secret, so it may be shown and copied: the secrets go to
    /// Voximplant as application secrets (`scenarioSecrets`).
    public func scenario(for application: Application, viewer: User, publicURL: String) throws -> String {
        let key = try application.elevenLabsKeyID.map { try self.elevenLabsKey(id: $0, viewer: viewer) }
        // A key with its own host is on a regional (data-residency) API; "" is the default host.
        let regional = key.map(\.baseURL).flatMap { $0.isEmpty ? nil : $0 }
        let input = ScenarioGenerator.Input(
            applicationID: application.id, applicationName: application.name, agentID: application.elevenLabsAgentID,
            elevenLabsBaseURL: regional,
            webhookURL: publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/api/webhook/voximplant",
            record: application.record ?? false)
        return ScenarioGenerator().generate(input)
    }

    /// The secrets the scenario reads from its Voximplant application, by name, in clear: for
    /// the deployment and for the owner who sets them up by hand. Never for a page.
    public func scenarioSecrets(for application: Application, viewer: User) throws -> [(name: String, value: String)] {
        let key = try application.elevenLabsKeyID.map { try self.elevenLabsKey(id: $0, viewer: viewer) }
        let agentKey = try key.map { try vault.open($0.apiKeySealed, as: .elevenLabsAPIKey, of: $0.id) }
        let secret = try application.webhookSecretSealed.map {
            try vault.open($0, as: .applicationWebhookSecret, of: application.id)
        }
        return [(ScenarioGenerator.SecretName.elevenLabsAPIKey, agentKey), (ScenarioGenerator.SecretName.webhookSecret, secret)]
            .compactMap { name, value in value.map { (name, $0) } }
    }

    public func recordDeployment(applicationID: UInt64, steps: [String], succeeded: Bool, scenarioID: UInt64?,
                                 voximplantApplicationID: UInt64?, ruleID: UInt64?) throws {
        try database.environment.write { txn in
            guard var application = try database.applications.get(txn, applicationID) else { throw SetupError.notFound }
            application.lastDeployment = steps
            application.status = succeeded ? .deployed : .failed
            application.voximplantScenarioID = scenarioID ?? application.voximplantScenarioID
            application.voximplantApplicationID = voximplantApplicationID ?? application.voximplantApplicationID
            application.voximplantRuleID = ruleID ?? application.voximplantRuleID
            try database.applications.put(txn, applicationID, application)
        }
    }
}

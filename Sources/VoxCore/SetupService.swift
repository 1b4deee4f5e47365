import CryptoPrimitives
import Foundation
import KVStore

public enum SetupError: Error, Equatable, CustomStringConvertible {
    case invalid(SetupProblem)
    case notFound
    case inUse(SetupProblem)

    public var description: String {
        switch self {
        case let .invalid(problem): problem.description
        case .notFound: "no such record"
        case let .inUse(problem): problem.description
        }
    }
}

/// Accounts, ElevenLabs keys and applications: what an operator sets up. Secrets are sealed
/// inside the same transaction that hands out the record id, because the id is part of what
/// the seal is bound to.
///
/// Every change writes its audit line in its own transaction (`by`: who, from where; a caller
/// that gives none is recorded as the viewer from an unknown address).
public struct SetupService: Sendable {
    let database: Database
    let vault: Vault
    let audit: AuditLog

    public init(database: Database, vault: Vault, clock: any Clock = SystemClock()) {
        self.database = database
        self.vault = vault
        audit = AuditLog(database: database, clock: clock)
    }

    private func log(_ action: AuditAction, _ viewer: User, _ actor: AuditActor?, _ detail: String, in txn: WriteTransaction) throws {
        try audit.record(action, by: actor ?? AuditActor(viewer, address: "-"), detail, in: txn)
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
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SetupError.invalid(.accountNameMissing) }
        guard (1...20).contains(accountID.utf8.count), accountID.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw SetupError.invalid(.accountIDNotANumber)
        }
    }

    /// A service-account key file that has been read and checked (its private key loads):
    /// what `addAccount`/`updateAccount` seal. Built by `VoxServices.checkServiceAccount`,
    /// which knows the file's format.
    public struct ServiceAccountFile: Sendable {
        public let json: String
        public let keyID: String
        public let accountID: UInt64

        public init(json: String, keyID: String, accountID: UInt64) {
            self.json = json
            self.keyID = keyID
            self.accountID = accountID
        }
    }

    /// Connects an account with an API key, a service-account file, or both (the file is then
    /// used). The account id may be left empty when the file gives it.
    @discardableResult
    public func addAccount(owner: User, name: String, voximplantAccountID: String, apiKey: String,
                           serviceAccount: ServiceAccountFile? = nil, by actor: AuditActor? = nil) throws -> Account {
        let accountID = try SetupService.accountID(voximplantAccountID, serviceAccount: serviceAccount)
        try SetupService.validateAccount(name: name, accountID: accountID)
        guard apiKey.count >= 8 || (apiKey.isEmpty && serviceAccount != nil) else {
            throw SetupError.invalid(.accountCredentialsMissing)
        }
        return try database.environment.write { txn in
            try claim(accountID, for: nil, in: txn)
            let id = try database.nextID("accounts", in: txn)
            var account = Account(id: id, ownerUserID: owner.id, voximplantAccountID: accountID, name: name,
                                  apiKeySealed: apiKey.isEmpty ? nil : try vault.seal(apiKey, as: .accountAPIKey, of: id))
            if let serviceAccount { try seal(serviceAccount, into: &account) }
            try database.accounts.put(txn, id, account)
            try database.accountsByVoximplantID.put(txn, accountID, id)
            try log(.accountAdded, owner, actor, "account \(id) “\(name)” (Voximplant \(accountID)), signs in with "
                        + (serviceAccount != nil ? "service account \(serviceAccount!.keyID)" : "API key"), in: txn)
            return account
        }
    }

    /// The account id the form gave, or the file's when the form left it empty; a file for
    /// another account is refused (its token would act on that account).
    static func accountID(_ given: String, serviceAccount: ServiceAccountFile?) throws -> String {
        let given = given.trimmingCharacters(in: .whitespaces)
        guard let serviceAccount else { return given }
        let fromFile = String(serviceAccount.accountID)
        guard given.isEmpty || given == fromFile else {
            throw SetupError.invalid(.serviceAccountOfAnotherAccount(file: fromFile, given: given))
        }
        return fromFile
    }

    private func seal(_ file: ServiceAccountFile, into account: inout Account) throws {
        account.serviceAccountSealed = try vault.seal(file.json, as: .accountServiceAccount, of: account.id)
        account.serviceAccountKeyID = file.keyID
    }

    /// One Voximplant account belongs to one tenant here: its call history and its events
    /// would otherwise be two tenants' calls at once. Refused, with a message, when another
    /// record (`except` is the one being edited) already holds it.
    private func claim(_ voximplantAccountID: String, for except: UInt64?, in txn: WriteTransaction) throws {
        if let holder = try database.accountsByVoximplantID.get(txn, voximplantAccountID), holder != except {
            throw SetupError.invalid(.accountAlreadyConnected(voximplantAccountID: voximplantAccountID))
        }
    }

    /// An empty `apiKey` (or no file) keeps the saved one: credentials are write-only.
    /// `removeServiceAccount` drops a saved file (a revoked key), when an API key remains.
    public func updateAccount(id: UInt64, viewer: User, name: String, voximplantAccountID: String, apiKey: String?,
                              serviceAccount: ServiceAccountFile? = nil, removeServiceAccount: Bool = false,
                              by actor: AuditActor? = nil) throws {
        let accountID = try SetupService.accountID(voximplantAccountID, serviceAccount: serviceAccount)
        try SetupService.validateAccount(name: name, accountID: accountID)
        _ = try account(id: id, viewer: viewer)
        try database.environment.write { txn in
            guard var account = try database.accounts.get(txn, id) else { throw SetupError.notFound }
            if account.voximplantAccountID != accountID {
                // The saved file's tokens act on the old account: another id needs its own file.
                if serviceAccount == nil, account.serviceAccountSealed != nil, !removeServiceAccount {
                    throw SetupError.invalid(.savedServiceAccountOfAnotherAccount(saved: account.voximplantAccountID, given: accountID))
                }
                try claim(accountID, for: id, in: txn)
                try database.accountsByVoximplantID.delete(txn, account.voximplantAccountID)
                try database.accountsByVoximplantID.put(txn, accountID, id)
                // Another account's preferred host is not this one's.
                account.apiBaseURL = nil
            }
            account.name = name
            account.voximplantAccountID = accountID
            if let apiKey, !apiKey.isEmpty {
                guard apiKey.count >= 8 else { throw SetupError.invalid(.accountAPIKeyMissing) }
                account.apiKeySealed = try vault.seal(apiKey, as: .accountAPIKey, of: id)
            }
            if let serviceAccount {
                try seal(serviceAccount, into: &account)
            } else if removeServiceAccount {
                account.serviceAccountSealed = nil
                account.serviceAccountKeyID = nil
            }
            guard account.hasCredentials else {
                throw SetupError.invalid(.accountNeedsCredentials)
            }
            try database.accounts.put(txn, id, account)
            let changes = [apiKey?.isEmpty == false ? "new API key" : nil, serviceAccount.map { "service account \($0.keyID)" },
                           removeServiceAccount && serviceAccount == nil ? "service account removed" : nil].compactMap { $0 }
            try log(.accountChanged, viewer, actor, "account \(id) “\(name)” (Voximplant \(accountID))"
                        + (changes.isEmpty ? "" : ": " + changes.joined(separator: ", ")), in: txn)
        }
    }

    /// What "Test connection" learnt from GetAccountInfo: the billing currency and the API host
    /// Voximplant prefers (already allow-listed by the caller; nil leaves the saved one).
    public func recordAccountInfo(id: UInt64, viewer: User, currency: String?, apiBaseURL: String?) throws {
        _ = try account(id: id, viewer: viewer)
        try database.environment.write { txn in
            guard var account = try database.accounts.get(txn, id) else { throw SetupError.notFound }
            if let currency { account.currency = currency }
            if let apiBaseURL { account.apiBaseURL = apiBaseURL }
            try database.accounts.put(txn, id, account)
        }
    }

    public func setActive(accountID: UInt64, viewer: User, active: Bool, by actor: AuditActor? = nil) throws {
        _ = try account(id: accountID, viewer: viewer)
        try database.environment.write { txn in
            guard var account = try database.accounts.get(txn, accountID) else { throw SetupError.notFound }
            account.active = active
            try database.accounts.put(txn, accountID, account)
            try log(.accountChanged, viewer, actor, "account \(accountID) “\(account.name)” \(active ? "enabled" : "disabled")", in: txn)
        }
    }

    /// Refused while applications use the account: their calls would lose their owner.
    public func deleteAccount(id: UInt64, viewer: User, by actor: AuditActor? = nil) throws {
        _ = try account(id: id, viewer: viewer)
        try database.environment.write { txn in
            let users = try database.applications.entries(txn).filter { $0.value.accountID == id }
            guard users.isEmpty else {
                throw SetupError.inUse(.accountInUse(applications: users.map(\.value.name).joined(separator: ", ")))
            }
            if let account = try database.accounts.get(txn, id),
               try database.accountsByVoximplantID.get(txn, account.voximplantAccountID) == id {
                try database.accountsByVoximplantID.delete(txn, account.voximplantAccountID)
            }
            try database.accounts.delete(txn, id)
            try log(.accountDeleted, viewer, actor, "account \(id)", in: txn)
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
                                 webhookSecret: String? = nil, by actor: AuditActor? = nil) throws -> ElevenLabsKey {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SetupError.invalid(.keyNameMissing) }
        guard apiKey.count >= 8 else { throw SetupError.invalid(.keyAPIKeyMissing) }
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
            try log(.keyAdded, owner, actor, "ElevenLabs key \(id) “\(name)”" + (key.webhookSecretSealed != nil ? " with a webhook secret" : ""),
                    in: txn)
            return key
        }
    }

    /// Webhook secrets are long random strings (ElevenLabs' own are); a short one could be
    /// guessed offline from one signed request.
    public static let minimumWebhookSecretLength = 32

    static func validateWebhookSecret(_ secret: String) throws {
        guard secret.count >= minimumWebhookSecretLength else {
            throw SetupError.invalid(.webhookSecretTooShort(minimum: minimumWebhookSecretLength))
        }
    }

    /// Saves (or replaces) the key's post-call webhook secret; `workspaceWebhookID` when this
    /// server created the webhook (nil: pasted by hand, the webhook is someone else's).
    public func setElevenLabsWebhookSecret(keyID: UInt64, viewer: User, secret: String, workspaceWebhookID: String? = nil,
                                           by actor: AuditActor? = nil) throws {
        try SetupService.validateWebhookSecret(secret)
        _ = try elevenLabsKey(id: keyID, viewer: viewer)
        try database.environment.write { txn in
            guard var key = try database.elevenLabsKeys.get(txn, keyID) else { throw SetupError.notFound }
            key.webhookSecretSealed = try vault.seal(secret, as: .elevenLabsWebhookSecret, of: keyID)
            key.workspaceWebhookID = workspaceWebhookID
            try log(.keyChanged, viewer, actor, "ElevenLabs key \(keyID): webhook secret "
                        + (workspaceWebhookID.map { "from the workspace webhook \($0) made here" } ?? "saved by hand"), in: txn)
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

    public func deleteElevenLabsKey(id: UInt64, viewer: User, by actor: AuditActor? = nil) throws {
        let key = try elevenLabsKey(id: id, viewer: viewer)
        let token = try ElevenLabsWebhookToken.token(of: key, vault: vault)
        try database.environment.write { txn in
            guard try database.applications.entries(txn).allSatisfy({ $0.value.elevenLabsKeyID != id }) else {
                throw SetupError.inUse(.keyInUse)
            }
            if let token { try database.elevenLabsWebhookTokens.delete(txn, ElevenLabsWebhookToken.hash(Substring(token))) }
            try database.elevenLabsKeys.delete(txn, id)
            try log(.keyDeleted, viewer, actor, "ElevenLabs key \(id) “\(key.name)”", in: txn)
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

    /// What an owner chooses per application, besides its number and agent.
    public struct ApplicationOptions: Sendable, Equatable {
        public var record: Bool
        public var secureRecordStorage: Bool
        public var deleteVoximplantRecordings: Bool
        public var deleteElevenLabsConversations: Bool

        public init(record: Bool, secureRecordStorage: Bool = false, deleteVoximplantRecordings: Bool = false,
                    deleteElevenLabsConversations: Bool = false) {
            self.record = record
            self.secureRecordStorage = secureRecordStorage
            self.deleteVoximplantRecordings = deleteVoximplantRecordings
            self.deleteElevenLabsConversations = deleteElevenLabsConversations
        }

        public init(_ application: Application) {
            self.init(record: application.record ?? false, secureRecordStorage: application.secureRecordStorage ?? false,
                      deleteVoximplantRecordings: application.deleteVoximplantRecordings ?? false,
                      deleteElevenLabsConversations: application.deleteElevenLabsConversations ?? false)
        }

        func apply(to application: inout Application) {
            application.record = record
            application.secureRecordStorage = secureRecordStorage
            application.deleteVoximplantRecordings = deleteVoximplantRecordings
            application.deleteElevenLabsConversations = deleteElevenLabsConversations
        }
    }

    /// Changes the options; recording and secure storage reach Voximplant with the next deploy.
    public func setOptions(applicationID: UInt64, viewer: User, _ options: ApplicationOptions, by actor: AuditActor? = nil) throws {
        _ = try application(id: applicationID, viewer: viewer)
        try database.environment.write { txn in
            guard var application = try database.applications.get(txn, applicationID) else { throw SetupError.notFound }
            options.apply(to: &application)
            try database.applications.put(txn, applicationID, application)
            try log(.applicationChanged, viewer, actor, "application \(applicationID) options: \(options)", in: txn)
        }
    }

    @discardableResult
    public func createApplication(viewer: User, accountID: UInt64, name: String, phoneNumber: String, agentID: String,
                                  elevenLabsKeyID: UInt64, record: Bool, by actor: AuditActor? = nil) throws -> Application {
        try createApplication(viewer: viewer, accountID: accountID, name: name, phoneNumber: phoneNumber, agentID: agentID,
                              elevenLabsKeyID: elevenLabsKeyID, options: ApplicationOptions(record: record), by: actor)
    }

    @discardableResult
    public func createApplication(viewer: User, accountID: UInt64, name: String, phoneNumber: String, agentID: String,
                                  elevenLabsKeyID: UInt64, options: ApplicationOptions, by actor: AuditActor? = nil) throws -> Application {
        let account = try self.account(id: accountID, viewer: viewer)
        let key = try self.elevenLabsKey(id: elevenLabsKeyID, viewer: viewer)
        // Transcripts reach a call only through its own tenant's key (see ConversationLink);
        // an admin linking one tenant's account to another's key would break that silently.
        guard account.ownerUserID == key.ownerUserID else {
            throw SetupError.invalid(.ownersDiffer)
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SetupError.invalid(.applicationNameMissing) }
        guard !PhoneNumber.digits(phoneNumber).isEmpty else { throw SetupError.invalid(.phoneNumberMissing) }
        guard !agentID.isEmpty else { throw SetupError.invalid(.agentIDMissing) }
        let secret = SetupService.newWebhookSecret()
        return try database.environment.write { txn in
            let id = try database.nextID("applications", in: txn)
            var application = Application(id: id, accountID: accountID, name: name, elevenLabsAgentID: agentID,
                                          phoneNumber: phoneNumber,
                                          webhookSecretSealed: try vault.seal(secret, as: .applicationWebhookSecret, of: id))
            application.elevenLabsKeyID = elevenLabsKeyID
            options.apply(to: &application)
            try database.applications.put(txn, id, application)
            try log(.applicationAdded, viewer, actor, "application \(id) “\(name)”: \(phoneNumber) → agent \(agentID)", in: txn)
            return application
        }
    }

    /// 32 random bytes as 43 base64url characters.
    static func newWebhookSecret() -> String { Random.bytes(32).base64URLString }

    /// Gives the application a new webhook secret. Events signed with the old one are refused
    /// from now on, so the scenario must be deployed again (the page says so).
    public func rotateWebhookSecret(applicationID: UInt64, viewer: User, by actor: AuditActor? = nil) throws {
        _ = try application(id: applicationID, viewer: viewer)
        let secret = SetupService.newWebhookSecret()
        try database.environment.write { txn in
            guard var application = try database.applications.get(txn, applicationID) else { throw SetupError.notFound }
            application.webhookSecretSealed = try vault.seal(secret, as: .applicationWebhookSecret, of: applicationID)
            try database.applications.put(txn, applicationID, application)
            try log(.applicationChanged, viewer, actor, "application \(applicationID): new webhook secret", in: txn)
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

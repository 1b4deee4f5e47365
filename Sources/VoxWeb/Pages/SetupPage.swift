import FastCGI
import Integrations
import Foundation
import VoxCore
import VoxServices

/// Setup: Voximplant accounts and ElevenLabs keys. API keys are write-only: shown masked,
/// never sent back in a form.
enum SetupPage {
    struct AccountRow: Encodable {
        let id: UInt64
        let name: String
        let accountID: String
        let key: String
        let hasKey: Bool
        let serviceAccount: String?
        let active: Bool
    }

    struct KeyRow: Encodable {
        let id: UInt64
        let name: String
        let key: String
        let webhook: Bool
        let webhookURL: String
    }

    /// What the add-account form held when it was refused, to show it again (never the key).
    struct AccountForm: Encodable {
        var name = ""
        var accountID = ""
    }

    struct KeyForm: Encodable {
        var name = ""
    }

    struct StorageSummary: Encodable {
        let `where`: String
        let retention: Int
        let forever: Bool
    }

    struct Values: Encodable {
        let accounts: [AccountRow]
        let keys: [KeyRow]
        let minimumSecret: Int
        let accountForm: AccountForm
        let keyForm: KeyForm
        let isAdmin: Bool
        let storage: StorageSummary?
        let notice: Pages.Notice?
    }

    /// The page, with an optional message about one record and the add forms' previous input.
    static func render(_ context: RequestContext, _ site: Site, status: HTTPStatus = .ok, notice: Pages.Notice? = nil,
                       accountForm: AccountForm = AccountForm(), keyForm: KeyForm = KeyForm()) throws -> Response {
        let user = try context.requireUser()
        let setup = site.setup
        let storage = try user.isAdmin ? site.storage.saved() : nil
        let values = Values(
            accounts: try setup.accounts(viewer: user).map { account in
                AccountRow(id: account.id, name: account.name, accountID: account.voximplantAccountID,
                           key: setup.apiKeyMask(account), hasKey: account.apiKeySealed != nil,
                           serviceAccount: account.serviceAccountSealed == nil ? nil : account.serviceAccountKeyID ?? "saved",
                           active: account.active)
            },
            keys: try setup.elevenLabsKeys(viewer: user).map { key in
                KeyRow(id: key.id, name: key.name, key: setup.keyMask(key), webhook: key.webhookSecretSealed != nil,
                       webhookURL: try setup.elevenLabsWebhookURL(for: key, publicURL: site.publicURL))
            },
            minimumSecret: SetupService.minimumWebhookSecretLength,
            accountForm: accountForm, keyForm: keyForm, isAdmin: user.isAdmin,
            storage: storage.map { storage in
                StorageSummary(where: storage.kind == .s3 ? "s3://\(storage.s3Bucket)" : context.catalog("store_local"),
                               retention: storage.retentionDays, forever: storage.retentionDays == 0)
            },
            notice: notice)
        return Pages.render("setup", title: context.catalog("nav_setup"), values, context: context, site: site, status: status,
                            activePath: "/setup")
    }

    /// The page again with what went wrong, at the error's status.
    static func failure(_ context: RequestContext, _ site: Site, _ error: any HTTPResponseError, prefix: String = "",
                        accountForm: AccountForm = AccountForm(), keyForm: KeyForm = KeyForm()) throws -> Response {
        try render(context, site, status: error.status, notice: .error(prefix + context.catalog.message(error) + (prefix.isEmpty ? "" : ".")),
                   accountForm: accountForm, keyForm: keyForm)
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try render(context, site)
    }

    static func addAccount(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let form = try request.form()
        let name = form.text("name") ?? "", accountID = form.text("account_id") ?? "", key = form.text("api_key") ?? ""
        return try Pages.submitting({
            _ = try site.setup.addAccount(owner: try context.requireUser(), name: name, voximplantAccountID: accountID, apiKey: key,
                                          serviceAccount: try serviceAccount(in: form), by: try Pages.actor(request, context))
            return .redirect(to: "/setup")
        }, orShow: { try failure(context, site, $0, accountForm: AccountForm(name: name, accountID: accountID)) })
    }

    static func testAccount(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let account = try site.setup.account(id: try context.id(), viewer: user)
        return try Pages.submitting({
            let info = try site.upstreams.voximplant(account).accountInfo()
            let currency = info.currency ?? account.currency
            try site.setup.recordAccountInfo(id: account.id, viewer: user, currency: currency,
                                             apiBaseURL: info.apiAddress.flatMap(VoximplantAPIAddress.baseURL(from:)))
            let balance = info.balance.flatMap { Money(decimal: $0.value, currency: currency) }
                .map { Formatting.amount(micros: $0.micros, currency: currency) } ?? "unknown"
            return try render(context, site, notice: .ok(context.catalog("setup_connected", ["name": account.name, "account": info.accountName ?? account.voximplantAccountID, "balance": balance])))
        }, orShow: { try failure(context, site, $0, prefix: "“\(account.name)”: ") })
    }

    static func editAccount(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let account = try site.setup.account(id: try context.id(), viewer: user)
        struct Values: Encodable {
            let id: UInt64
            let name: String
            let accountID: String
            let key: String
            let serviceAccount: String?
        }
        return Pages.render("account-edit", title: context.catalog("account_edit_title"),
                            Values(id: account.id, name: account.name, accountID: account.voximplantAccountID,
                                   key: site.setup.apiKeyMask(account), serviceAccount: account.serviceAccountKeyID),
                            context: context, site: site, activePath: "/setup")
    }

    static func updateAccount(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let form = try request.form()
        let id = try context.id()
        return try Pages.submitting({
            try site.setup.updateAccount(id: id, viewer: user, name: form.text("name") ?? "",
                                         voximplantAccountID: form.text("account_id") ?? "", apiKey: form.text("api_key"),
                                         serviceAccount: try serviceAccount(in: form),
                                         removeServiceAccount: form["remove_service_account"] != nil,
                                         by: try Pages.actor(request, context))
            return .redirect(to: "/setup")
        }, orShow: { try failure(context, site, $0) })
    }

    /// The pasted service-account file, checked, or nil when the field is empty.
    private static func serviceAccount(in form: Parameters) throws -> SetupService.ServiceAccountFile? {
        guard let text = form.text("service_account"), !text.isEmpty else { return nil }
        return try ServiceAccountCheck.file(text)
    }

    static func setActive(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        try site.setup.setActive(accountID: id, viewer: try context.requireUser(), active: try request.form()["active"] == "1",
                                 by: try Pages.actor(request, context))
        return .redirect(to: "/setup")
    }

    static func deleteAccount(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        return try Pages.submitting({
            try site.setup.deleteAccount(id: id, viewer: try context.requireUser(), by: try Pages.actor(request, context))
            return .redirect(to: "/setup")
        }, orShow: { try failure(context, site, $0) })
    }

    static func addKey(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let form = try request.form()
        let name = form.text("name") ?? "", key = form.text("api_key") ?? ""
        return try Pages.submitting({
            _ = try site.setup.addElevenLabsKey(owner: try context.requireUser(), name: name, apiKey: key,
                                            webhookSecret: form.text("webhook_secret"), by: try Pages.actor(request, context))
            return .redirect(to: "/setup")
        }, orShow: { try failure(context, site, $0, keyForm: KeyForm(name: name)) })
    }

    static func setWebhookSecret(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        return try Pages.submitting({
            try site.setup.setElevenLabsWebhookSecret(keyID: id, viewer: try context.requireUser(),
                                                      secret: try request.form().text("webhook_secret") ?? "",
                                                      by: try Pages.actor(request, context))
            return try render(context, site, notice: .ok(context.catalog("setup_secret_saved_notice")))
        }, orShow: { try failure(context, site, $0) })
    }

    /// "Set up at ElevenLabs": creates the workspace's HMAC webhook pointing at this key's own
    /// URL and makes it the post-call webhook for transcripts and audio; only then keeps the
    /// secret ElevenLabs returned (sealed; nobody copies it). A workspace already posting
    /// elsewhere is not taken over unless the owner ticks "replace"; a failed attach deletes
    /// the webhook it created, and leaves the saved secret as it was.
    static func createWebhook(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let key = try site.setup.elevenLabsKey(id: try context.id(), viewer: user)
        let replace = try request.form()["replace"] != nil
        return try Pages.submitting({
            let url = try site.setup.elevenLabsWebhookURL(for: key, publicURL: site.publicURL)
            guard url.hasPrefix("https://") else {
                // WebhookHmacSettings.webhook_url: "The HTTPS callback URL" (elevenlabs-python
                // types/webhook_hmac_settings.py).
                throw SetupError.invalid(.webhookNeedsHTTPS(publicURL: site.publicURL))
            }
            let client = try site.upstreams.elevenLabs(key)
            if let current = try client.postCallWebhookID(), current != key.workspaceWebhookID, !replace {
                throw SetupError.invalid(.workspaceWebhookNotOurs(webhookID: current))
            }
            let host = URL(string: site.publicURL)?.host ?? "VoxFCGI"
            let webhook = try client.createWorkspaceWebhook(name: "VoxFCGI \(host) (\(key.name))", url: url)
            do {
                try client.usePostCallWebhook(id: webhook.id, events: ["transcript", "audio"])
            } catch {
                try? client.deleteWorkspaceWebhook(id: webhook.id)
                throw error
            }
            try site.setup.setElevenLabsWebhookSecret(keyID: key.id, viewer: user, secret: webhook.secret, workspaceWebhookID: webhook.id,
                                                      by: try Pages.actor(request, context))
            // The one this server made before is no longer used.
            if let old = key.workspaceWebhookID, old != webhook.id { try? client.deleteWorkspaceWebhook(id: old) }
            return try render(context, site, notice: .ok(context.catalog("setup_webhook_made", ["name": key.name, "webhook": webhook.id])))
        }, orShow: { try failure(context, site, $0, prefix: "“\(key.name)”: ") })
    }

    static func testKey(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let key = try site.setup.elevenLabsKey(id: try context.id(), viewer: user)
        return try Pages.submitting({
            _ = try site.upstreams.elevenLabs(key).conversations(pageSize: 1)
            return try render(context, site, notice: .ok(context.catalog("setup_key_ok", ["name": key.name])))
        }, orShow: { try failure(context, site, $0, prefix: "“\(key.name)”: ") })
    }

    static func deleteKey(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        return try Pages.submitting({
            try site.setup.deleteElevenLabsKey(id: id, viewer: try context.requireUser(), by: try Pages.actor(request, context))
            return .redirect(to: "/setup")
        }, orShow: { try failure(context, site, $0) })
    }
}

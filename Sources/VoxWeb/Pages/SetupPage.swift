import FastCGI
import Foundation
import Integrations
import VoxCore

/// Setup: Voximplant accounts and ElevenLabs keys. API keys are write-only: shown masked,
/// never sent back in a form.
enum SetupPage {
    static func service(_ services: Services) -> SetupService { SetupService(database: services.database, vault: services.vault) }

    /// The page, with an optional message about one record and the add forms' previous input.
    static func render(_ context: RequestContext, _ services: Services, status: HTTPStatus = .ok,
                       notice: (kind: String, text: String)? = nil, accountForm: [String: String] = [:],
                       keyForm: [String: String] = [:]) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        var values: [String: Any] = [
            "accounts": try setup.accounts(viewer: user).map { account -> [String: Any] in
                ["id": account.id, "name": account.name, "accountID": account.voximplantAccountID,
                 "key": setup.apiKeyMask(account), "active": account.active, "currency": account.currency]
            },
            "keys": try setup.elevenLabsKeys(viewer: user).map { key -> [String: Any] in
                ["id": key.id, "name": key.name, "key": setup.keyMask(key), "webhook": key.webhookSecretSealed != nil,
                 "webhookURL": try setup.elevenLabsWebhookURL(for: key, publicURL: services.publicURL)]
            },
            "minimumSecret": SetupService.minimumWebhookSecretLength,
            "accountForm": accountForm, "keyForm": keyForm,
        ]
        if user.isAdmin {
            let storage = try services.recordings.settings()
            values["isAdmin"] = true
            values["storage"] = [
                "where": storage.kind == .s3 ? "s3://\(storage.s3Bucket)" : "this server's disk",
                "retention": storage.retentionDays, "forever": storage.retentionDays == 0,
            ]
        }
        if let notice { values["notice"] = ["kind": notice.kind, "text": notice.text] }
        return Pages.render("setup", title: "Setup", values, context: context, services: services, status: status,
                            activePath: "/setup")
    }

    static func show(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        try render(context, services)
    }

    static func addAccount(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let form = try request.form()
        let name = form.text("name") ?? "", accountID = form.text("account_id") ?? "", key = form.text("api_key") ?? ""
        do {
            try service(services).addAccount(owner: try context.requireUser(), name: name, voximplantAccountID: accountID, apiKey: key)
        } catch let error as SetupError {
            return try render(context, services, status: .unprocessableContent, notice: ("error", error.description),
                              accountForm: ["name": name, "account_id": accountID])
        }
        return .redirect(to: "/setup")
    }

    static func testAccount(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let account = try lookup { try setup.account(id: try context.id(), viewer: user) }
        do {
            let info = try services.upstreams.voximplant(account, vault: services.vault).accountInfo()
            let currency = info.currency ?? account.currency
            try setup.updateAccount(id: account.id, viewer: user, name: account.name,
                                    voximplantAccountID: account.voximplantAccountID, apiKey: nil, currency: currency)
            let balance = info.balance.flatMap { Money(decimal: $0.value, currency: currency) }
                .map { Formatting.amount(micros: $0.micros, currency: currency) } ?? "unknown"
            return try render(context, services, notice: ("ok", "“\(account.name)”: connected to \(info.accountName ?? "the account"), balance \(balance)."))
        } catch let error as VoximplantError {
            return try render(context, services, status: .badGateway, notice: ("error", "“\(account.name)”: \(error.description)."))
        } catch let error as Vault.VaultError {
            return try render(context, services, status: .internalServerError, notice: ("error", error.description))
        }
    }

    static func editAccount(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let account = try lookup { try setup.account(id: try context.id(), viewer: user) }
        return Pages.render("account-edit", title: "Edit account", [
            "id": account.id, "name": account.name, "accountID": account.voximplantAccountID, "key": setup.apiKeyMask(account),
        ], context: context, services: services, activePath: "/setup")
    }

    static func updateAccount(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let form = try request.form()
        let id = try context.id()
        do {
            try service(services).updateAccount(id: id, viewer: user, name: form.text("name") ?? "",
                                                voximplantAccountID: form.text("account_id") ?? "", apiKey: form.text("api_key"))
        } catch SetupError.notFound {
            throw HTTPError(.notFound, "there is no such account")
        } catch let error as SetupError {
            return try render(context, services, status: .unprocessableContent, notice: ("error", error.description))
        }
        return .redirect(to: "/setup")
    }

    static func setActive(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let id = try context.id()
        try lookup { try service(services).setActive(accountID: id, viewer: try context.requireUser(), active: try request.form()["active"] == "1") }
        return .redirect(to: "/setup")
    }

    static func deleteAccount(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let id = try context.id()
        do {
            try service(services).deleteAccount(id: id, viewer: try context.requireUser())
        } catch SetupError.notFound {
            throw HTTPError(.notFound, "there is no such account")
        } catch let error as SetupError {
            return try render(context, services, status: .conflict, notice: ("error", error.description))
        }
        return .redirect(to: "/setup")
    }

    static func addKey(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let form = try request.form()
        let name = form.text("name") ?? "", key = form.text("api_key") ?? ""
        do {
            try service(services).addElevenLabsKey(owner: try context.requireUser(), name: name, apiKey: key,
                                                   webhookSecret: form.text("webhook_secret"))
        } catch let error as SetupError {
            return try render(context, services, status: .unprocessableContent, notice: ("error", error.description), keyForm: ["name": name])
        }
        return .redirect(to: "/setup")
    }

    static func setWebhookSecret(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let id = try context.id()
        do {
            try service(services).setElevenLabsWebhookSecret(keyID: id, viewer: try context.requireUser(),
                                                             secret: try request.form().text("webhook_secret") ?? "")
        } catch SetupError.notFound {
            throw HTTPError(.notFound, "there is no such key")
        } catch let error as SetupError {
            return try render(context, services, status: .unprocessableContent, notice: ("error", error.description))
        }
        return try render(context, services, notice: ("ok", "Webhook secret saved."))
    }

    static func testKey(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let key = try lookup { try service(services).elevenLabsKey(id: try context.id(), viewer: user) }
        do {
            _ = try services.upstreams.elevenLabs(key, vault: services.vault).conversations(pageSize: 1)
            return try render(context, services, notice: ("ok", "“\(key.name)”: ElevenLabs accepted the key."))
        } catch let error as ElevenLabsError {
            return try render(context, services, status: .badGateway, notice: ("error", "“\(key.name)”: \(error.description)."))
        }
    }

    static func deleteKey(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let id = try context.id()
        do {
            try service(services).deleteElevenLabsKey(id: id, viewer: try context.requireUser())
        } catch SetupError.notFound {
            throw HTTPError(.notFound, "there is no such key")
        } catch let error as SetupError {
            return try render(context, services, status: .conflict, notice: ("error", error.description))
        }
        return .redirect(to: "/setup")
    }

    /// Someone else's record is a 404, the same as a missing one.
    @discardableResult
    static func lookup<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch SetupError.notFound { throw HTTPError(.notFound, "there is no such record") }
    }
}

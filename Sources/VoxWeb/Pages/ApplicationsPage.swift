import FastCGI
import Foundation
import Integrations
import VoxCore

/// Applications: a phone number linked to an ElevenLabs agent, its generated scenario, and
/// "Deploy to Voximplant".
enum ApplicationsPage {
    static func service(_ services: Services) -> SetupService { SetupPage.service(services) }

    static func list(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let accounts = Dictionary(try setup.accounts(viewer: user).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let rows = try setup.applications(viewer: user).map { app -> [String: Any] in
            ["id": app.id, "name": app.name, "number": PhoneNumber.display(app.phoneNumber), "agent": app.elevenLabsAgentID,
             "account": accounts[app.accountID] ?? "—", "status": app.status.rawValue]
        }
        return Pages.render("applications", title: "Applications", ["rows": rows, "empty": rows.isEmpty],
                            context: context, services: services, activePath: "/applications")
    }

    static func newForm(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        try renderForm(request.query, context, services, status: .ok, error: nil)
    }

    /// The form. Phone numbers are listed live from the chosen account.
    static func renderForm(_ input: Parameters, _ context: RequestContext, _ services: Services, status: HTTPStatus,
                           error: String?) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let accounts = try setup.accounts(viewer: user).filter(\.active)
        let chosen = input.text("account").flatMap(UInt64.init).flatMap { id in accounts.first { $0.id == id } } ?? accounts.first
        var values: [String: Any] = [
            "accounts": accounts.map { ["id": $0.id, "name": $0.name, "selected": $0.id == chosen?.id] },
            "keys": try setup.elevenLabsKeys(viewer: user).map { ["id": $0.id, "name": $0.name, "selected": String($0.id) == input["key"]] },
            "name": input["name"] ?? "", "agent": input["agent"] ?? "", "record": input["record"] != nil || input.items.isEmpty,
            "noAccounts": accounts.isEmpty,
        ]
        if let error { values["error"] = error }
        if let chosen {
            do {
                let numbers = try services.upstreams.voximplant(chosen, vault: services.vault).phoneNumbers()
                values["numbers"] = numbers.map { ["number": $0.phoneNumber, "display": PhoneNumber.display($0.phoneNumber),
                                                   "selected": $0.phoneNumber == input["number"]] }
                values["noNumbers"] = numbers.isEmpty
            } catch let failure as VoximplantError {
                values["numbersError"] = "Could not list the account's numbers: \(failure.description)."
            }
        }
        return Pages.render("application-new", title: "New application", values, context: context, services: services,
                            status: status, activePath: "/applications")
    }

    static func create(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let form = try request.form()
        let setup = service(services)
        guard let accountID = form.text("account").flatMap(UInt64.init), let keyID = form.text("key").flatMap(UInt64.init) else {
            return try renderForm(form, context, services, status: .unprocessableContent, error: "Choose an account and an ElevenLabs key.")
        }
        let agentID = form.text("agent") ?? ""
        // The agent must exist for this key: a typo here would only show up on the first call.
        do {
            let key = try SetupPage.lookup { try setup.elevenLabsKey(id: keyID, viewer: user) }
            _ = try services.upstreams.elevenLabs(key, vault: services.vault).agent(id: agentID)
        } catch let error as ElevenLabsError {
            let message: String
            if case .notFound = error { message = "ElevenLabs has no agent “\(agentID)” for this key." } else { message = error.description + "." }
            return try renderForm(form, context, services, status: .unprocessableContent, error: message)
        }
        do {
            let application = try setup.createApplication(
                viewer: user, accountID: accountID, name: form.text("name") ?? "", phoneNumber: form.text("number") ?? "",
                agentID: agentID, elevenLabsKeyID: keyID, record: form["record"] != nil)
            return .redirect(to: "/applications/\(application.id)")
        } catch let error as SetupError {
            return try renderForm(form, context, services, status: .unprocessableContent, error: error.description)
        }
    }

    static func show(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let application = try SetupPage.lookup { try setup.application(id: try context.id(), viewer: user) }
        var agentName = "—"
        if let keyID = application.elevenLabsKeyID, let key = try? setup.elevenLabsKey(id: keyID, viewer: user),
           let agent = try? services.upstreams.elevenLabs(key, vault: services.vault).agent(id: application.elevenLabsAgentID) {
            agentName = agent.name
        }
        let code = try setup.scenario(for: application, viewer: user, publicURL: services.publicURL, revealSecrets: false)
        return Pages.render("application", title: application.name, [
            "id": application.id, "name": application.name, "number": PhoneNumber.display(application.phoneNumber),
            "agent": application.elevenLabsAgentID, "agentName": agentName, "status": application.status.rawValue,
            "record": application.record ?? false, "code": code, "steps": application.lastDeployment ?? [],
            "hasSteps": !(application.lastDeployment ?? []).isEmpty,
            "voxApplicationID": application.voximplantApplicationID.map(String.init) ?? "—",
            "rotated": request.query["rotated"] == "1",
        ], context: context, services: services, activePath: "/applications")
    }

    /// The full scenario, secrets included, for the owner's copy button (a POST with the CSRF
    /// token, so no other site can read it).
    static func code(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let application = try SetupPage.lookup { try setup.application(id: try context.id(), viewer: user) }
        var response = Response.text(try setup.scenario(for: application, viewer: user, publicURL: services.publicURL, revealSecrets: true))
        response.addHeader("Cache-Control", "no-store")
        return response
    }

    /// A new webhook secret: the deployed scenario still signs with the old one, so the page
    /// asks for a deploy (or a fresh copy of the code).
    static func rotateSecret(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let id = try context.id()
        try SetupPage.lookup { try service(services).rotateWebhookSecret(applicationID: id, viewer: user) }
        return .redirect(to: "/applications/\(id)?rotated=1")
    }

    static func deploy(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let setup = service(services)
        let application = try SetupPage.lookup { try setup.application(id: try context.id(), viewer: user) }
        let account = try setup.account(id: application.accountID, viewer: user)
        let code = try setup.scenario(for: application, viewer: user, publicURL: services.publicURL, revealSecrets: true)
        var steps: [String] = []
        var scenarioID = application.voximplantScenarioID
        var voxAppID = application.voximplantApplicationID
        var ruleID = application.voximplantRuleID
        var succeeded = false
        do {
            let vox = try services.upstreams.voximplant(account, vault: services.vault)
            if let id = scenarioID {
                try vox.setScenarioScript(scenarioID: id, script: code)
                steps.append("✓ Scenario \(id) updated")
            } else {
                let id = try vox.addScenario(name: "voxfcgi_app_\(application.id)", script: code)
                scenarioID = id
                steps.append("✓ Scenario voxfcgi_app_\(application.id) created (id \(id))")
            }
            if voxAppID == nil {
                voxAppID = try vox.addApplication(name: "voxfcgi-\(application.id)")
                steps.append("✓ Application voxfcgi-\(application.id) created (id \(voxAppID!))")
            } else {
                steps.append("✓ Application \(voxAppID!) exists")
            }
            if ruleID == nil {
                ruleID = try vox.addRule(applicationID: voxAppID!, name: "voxfcgi-incoming", pattern: ".*", scenarioID: scenarioID!)
                steps.append("✓ Rule voxfcgi-incoming created (id \(ruleID!))")
            } else {
                steps.append("✓ Rule \(ruleID!) exists")
            }
            try vox.bindPhoneNumber(PhoneNumber.digits(application.phoneNumber), applicationID: voxAppID!, ruleID: ruleID!)
            steps.append("✓ Number \(PhoneNumber.display(application.phoneNumber)) bound to the application")
            succeeded = true
        } catch let error as VoximplantError {
            steps.append("✗ Stopped: \(error.description)")
        }
        try setup.recordDeployment(applicationID: application.id, steps: steps, succeeded: succeeded, scenarioID: scenarioID,
                                   voximplantApplicationID: voxAppID, ruleID: ruleID)
        return .redirect(to: "/applications/\(application.id)")
    }
}

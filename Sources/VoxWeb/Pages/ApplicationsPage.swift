import FastCGI
import Foundation
import Integrations
import VoxCore
import VoxServices

/// Applications: a phone number linked to an ElevenLabs agent, its generated scenario, and
/// "Deploy to Voximplant".
enum ApplicationsPage {
    /// The new-application form. `numbers` is listed live from the chosen account.
    struct FormValues: Encodable {
        let accounts: [Pages.Option]
        let keys: [Pages.Option]
        let name: String
        let agent: String
        let options: Options
        let noAccounts: Bool
        let noKeys: Bool
        let chosenKey: String?
        let error: String?
        var numbers: [Pages.Option] = []
        var noNumbers = false
        var numbersError: String? = nil
        /// The chosen key's agents, when ElevenLabs listed them all: then a list to pick from.
        var agents: [Pages.Option] = []
        var hasAgents = false
        var agentsError: String? = nil
    }

    /// The option checkboxes, as the form or the application has them.
    struct Options: Encodable {
        let record: Bool
        let secure: Bool
        let deleteVoximplantCopy: Bool
        let deleteConversation: Bool

        init(_ options: SetupService.ApplicationOptions) {
            record = options.record
            secure = options.secureRecordStorage
            deleteVoximplantCopy = options.deleteVoximplantRecordings
            deleteConversation = options.deleteElevenLabsConversations
        }
    }

    /// The checkboxes of a submitted form; an empty form (the first view) has the defaults:
    /// record, and in secure storage (recommended: a leaked URL then opens nothing) when the
    /// account has a service account, whose token the downloads need.
    static func options(in form: Parameters, for account: Account? = nil) -> SetupService.ApplicationOptions {
        guard form["_csrf"] != nil || form["options"] != nil else {
            return .init(record: true, secureRecordStorage: account?.serviceAccountSealed != nil)
        }
        return .init(record: form["record"] != nil, secureRecordStorage: form["secure_record_storage"] != nil,
                     deleteVoximplantRecordings: form["delete_voximplant_copy"] != nil,
                     deleteElevenLabsConversations: form["delete_conversation"] != nil)
    }

    struct ShowValues: Encodable {
        let id: UInt64
        let name: String
        let number: String
        let agent: String
        let agentName: String
        let audioWarning: String?
        let audioFixed: Bool
        let status: String
        let statusLabel: String
        let options: Options
        let optionsSaved: Bool
        let code: String
        let steps: [String]
        let hasSteps: Bool
        let voxApplicationID: String
        let rotated: Bool
    }

    static func list(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let setup = site.setup
        let accounts = Dictionary(try setup.accounts(viewer: user).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        struct Row: Encodable {
            let id: UInt64
            let name: String
            let number: String
            let agent: String
            let account: String
            let status: String
            let statusLabel: String
        }
        struct Values: Encodable {
            let rows: [Row]
            let empty: Bool
        }
        let rows = try setup.applications(viewer: user).map { app in
            Row(id: app.id, name: app.name, number: PhoneNumber.display(app.phoneNumber), agent: app.elevenLabsAgentID,
                account: accounts[app.accountID] ?? "—", status: app.status.rawValue,
                statusLabel: context.catalog("app_state_" + app.status.rawValue))
        }
        return Pages.render("applications", title: context.catalog("nav_applications"), Values(rows: rows, empty: rows.isEmpty),
                            context: context, site: site, activePath: "/applications")
    }

    static func newForm(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try renderForm(request.query, context, site, status: .ok, error: nil)
    }

    /// The form. Phone numbers are listed live from the chosen account.
    static func renderForm(_ input: Parameters, _ context: RequestContext, _ site: Site, status: HTTPStatus,
                           error: String?) throws -> Response {
        let user = try context.requireUser()
        let setup = site.setup
        let accounts = try setup.accounts(viewer: user).filter(\.active)
        let chosen = input.text("account").flatMap(UInt64.init).flatMap { id in accounts.first { $0.id == id } } ?? accounts.first
        let keys = try setup.elevenLabsKeys(viewer: user)
        let key = input.text("key").flatMap(UInt64.init).flatMap { id in keys.first { $0.id == id } } ?? keys.first
        var values = FormValues(
            accounts: accounts.map { Pages.Option(value: String($0.id), label: $0.name, selected: $0.id == chosen?.id) },
            keys: keys.map { Pages.Option(value: String($0.id), label: $0.name, selected: $0.id == key?.id) },
            name: input["name"] ?? "", agent: input["agent"] ?? "", options: Options(options(in: input, for: chosen)),
            noAccounts: accounts.isEmpty, noKeys: keys.isEmpty, chosenKey: key.map { String($0.id) }, error: error)
        if let chosen {
            do {
                let numbers = try site.upstreams.voximplant(chosen).phoneNumbers()
                values.numbers = numbers.map {
                    Pages.Option(value: $0.phoneNumber, label: PhoneNumber.display($0.phoneNumber), selected: $0.phoneNumber == input["number"])
                }
                values.noNumbers = numbers.isEmpty
            } catch let failure as any HTTPResponseError where failure.status == .badGateway {
                values.numbersError = context.catalog("app_numbers_failed", ["error": context.catalog.message(failure)])
            }
        }
        if let key {
            do {
                let listed = try site.upstreams.elevenLabs(key).allAgents()
                if listed.complete {
                    values.agents = listed.agents.map {
                        Pages.Option(value: $0.agentID, label: "\($0.name) (\($0.agentID))", selected: $0.agentID == input["agent"])
                    }
                    values.hasAgents = !values.agents.isEmpty
                    if !values.hasAgents { values.agentsError = context.catalog("app_no_agents") }
                } else {
                    values.agentsError = context.catalog("app_many_agents")
                }
            } catch let failure as any HTTPResponseError where failure.status == .badGateway {
                values.agentsError = context.catalog("app_agents_failed", ["error": context.catalog.message(failure)])
            }
        }
        return Pages.render("application-new", title: context.catalog("apps_new"), values, context: context, site: site,
                            status: status, activePath: "/applications")
    }

    static func create(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let form = try request.form()
        let setup = site.setup
        guard let accountID = form.text("account").flatMap(UInt64.init), let keyID = form.text("key").flatMap(UInt64.init) else {
            return try renderForm(form, context, site, status: .unprocessableContent, error: context.catalog("app_choose_account_and_key"))
        }
        let agentID = form.text("agent") ?? ""
        let key = try setup.elevenLabsKey(id: keyID, viewer: user)
        return try Pages.submitting({
            // The agent must exist for this key: a typo here would only show up on the first call.
            do { _ = try site.upstreams.elevenLabs(key).agent(id: agentID) } catch ElevenLabsError.notFound {
                throw SetupError.invalid(.unknownAgent(agentID: agentID))
            }
            let application = try setup.createApplication(
                viewer: user, accountID: accountID, name: form.text("name") ?? "", phoneNumber: form.text("number") ?? "",
                agentID: agentID, elevenLabsKeyID: keyID, options: options(in: form), by: try Pages.actor(request, context))
            return .redirect(to: "/applications/\(application.id)")
        }, orShow: { error in
            // Whatever went wrong, the form is shown again to be corrected (422).
            let said = context.catalog.message(error)
            let message = said.hasSuffix(".") ? said : said + "."
            return try renderForm(form, context, site, status: .unprocessableContent, error: message)
        })
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let setup = site.setup
        let application = try setup.application(id: try context.id(), viewer: user)
        var agentName = "—"
        var audioWarning: String?
        if let keyID = application.elevenLabsKeyID, let key = try? setup.elevenLabsKey(id: keyID, viewer: user),
           let agent = try? site.upstreams.elevenLabs(key).agent(id: application.elevenLabsAgentID) {
            agentName = agent.name
            audioWarning = AgentAudio.warning(agent, context.catalog)
        }
        let code = try setup.scenario(for: application, viewer: user, publicURL: site.publicURL)
        let steps = (application.lastDeployment ?? []).map { context.catalog.step(DeploymentStep(stored: $0)) }
        return Pages.render("application", title: application.name, ShowValues(
            id: application.id, name: application.name, number: PhoneNumber.display(application.phoneNumber),
            agent: application.elevenLabsAgentID, agentName: agentName, audioWarning: audioWarning,
            audioFixed: request.query["audio"] == "fixed", status: application.status.rawValue,
            statusLabel: context.catalog("app_state_" + application.status.rawValue),
            options: Options(SetupService.ApplicationOptions(application)), optionsSaved: request.query["options"] == "saved",
            code: code, steps: steps, hasSteps: !steps.isEmpty,
            voxApplicationID: application.voximplantApplicationID.map(String.init) ?? "—",
            rotated: request.query["rotated"] == "1"
        ), context: context, site: site, activePath: "/applications")
    }

    static func saveOptions(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        try site.setup.setOptions(applicationID: id, viewer: try context.requireUser(), options(in: try request.form()),
                                  by: try Pages.actor(request, context))
        return .redirect(to: "/applications/\(id)?options=saved")
    }

    /// "Switch the agent to 16 kHz PCM": PATCHes the agent, then trusts only what ElevenLabs
    /// answers (a server that ignored part of the body must not look fixed).
    static func fixAgentAudio(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let application = try site.setup.application(id: try context.id(), viewer: user)
        guard let keyID = application.elevenLabsKeyID else { throw HTTPError(.unprocessableContent, context.catalog("app_no_key")) }
        let key = try site.setup.elevenLabsKey(id: keyID, viewer: user)
        let agent = try site.upstreams.elevenLabs(key).setAudioFormat(agentID: application.elevenLabsAgentID,
                                                                       to: ElevenLabsAgent.voximplantFormat)
        if let still = AgentAudio.warning(agent, context.catalog) {
            throw HTTPError(.badGateway, context.catalog("app_audio_unchanged", ["warning": still]))
        }
        return .redirect(to: "/applications/\(application.id)?audio=fixed")
    }

    /// The scenario for the copy button. It holds no secret.
    static func code(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let setup = site.setup
        let application = try setup.application(id: try context.id(), viewer: user)
        var response = Response.text(try setup.scenario(for: application, viewer: user, publicURL: site.publicURL))
        try Pages.audit(.secretRevealed, "scenario code of application \(application.id) (holds no secret)", request, context, site)
        response.addHeader("Cache-Control", "no-store")
        return response
    }

    /// The secrets the scenario reads, `NAME=value` a line, for an owner who sets up the
    /// Voximplant application by hand instead of "Deploy" (a POST with the CSRF token, so no
    /// other site can read it; never cached).
    static func secrets(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let setup = site.setup
        let application = try setup.application(id: try context.id(), viewer: user)
        let secrets = try setup.scenarioSecrets(for: application, viewer: user)
        let lines = secrets.map { "\($0.name)=\($0.value)\n" }
        try Pages.audit(.secretRevealed, "application \(application.id) secrets \(secrets.map(\.name).joined(separator: ", "))",
                        request, context, site)
        var response = Response.text(lines.joined())
        response.addHeader("Cache-Control", "no-store")
        return response
    }

    /// A new webhook secret: the deployed scenario still signs with the old one, so the page
    /// asks for a deploy (or a fresh copy of the code).
    static func rotateSecret(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let id = try context.id()
        try site.setup.rotateWebhookSecret(applicationID: id, viewer: user, by: try Pages.actor(request, context))
        return .redirect(to: "/applications/\(id)?rotated=1")
    }

    static func deploy(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let application = try site.deployment.deploy(applicationID: try context.id(), viewer: try context.requireUser())
        try Pages.audit(.deployed, "application \(application.id) “\(application.name)”", request, context, site)
        return .redirect(to: "/applications/\(application.id)")
    }
}

/// Whether an agent's audio suits VoxEngine, in words for the application page.
enum AgentAudio {
    static func warning(_ agent: ElevenLabsAgent, _ catalog: Catalog) -> String? {
        guard !agent.usesVoximplantFormat else { return nil }
        return catalog("app_audio_warning", ["input": agent.inputAudioFormat, "output": agent.outputAudioFormat,
                                             "format": ElevenLabsAgent.voximplantFormat])
    }
}

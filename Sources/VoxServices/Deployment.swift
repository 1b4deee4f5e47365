import Foundation
import Integrations
import VoxCore

/// "Deploy to Voximplant": puts an application's generated scenario on its Voximplant account
/// and routes the phone number to it. Each step is idempotent by what is already recorded
/// (an existing scenario is updated, an existing application and rule are reused), so a
/// deploy that stopped half-way is finished by the next one. The steps taken, and where it
/// stopped, are stored on the application for its page.
public struct Deployment: Sendable {
    let setup: SetupService
    let upstreams: Upstreams
    /// Where Voximplant reaches this server: the scenario posts its events there.
    let publicURL: String

    public init(setup: SetupService, upstreams: Upstreams, publicURL: String) {
        self.setup = setup
        self.upstreams = upstreams
        self.publicURL = publicURL
    }

    /// Deploys the application the viewer may see (else `SetupError.notFound`); returns it.
    @discardableResult
    public func deploy(applicationID: UInt64, viewer: User) throws -> Application {
        let application = try setup.application(id: applicationID, viewer: viewer)
        let account = try setup.account(id: application.accountID, viewer: viewer)
        let code = try setup.scenario(for: application, viewer: viewer, publicURL: publicURL)
        let secrets = try setup.scenarioSecrets(for: application, viewer: viewer)
        var steps: [String] = []
        var scenarioID = application.voximplantScenarioID
        var voxAppID = application.voximplantApplicationID
        var ruleID = application.voximplantRuleID
        var succeeded = false
        do {
            let vox = try upstreams.voximplant(account)
            let scenario: UInt64
            if let id = scenarioID {
                scenario = id
                try vox.setScenarioScript(scenarioID: id, script: code)
                steps.append("✓ Scenario \(id) updated")
            } else {
                scenario = try vox.addScenario(name: "voxfcgi_app_\(application.id)", script: code)
                scenarioID = scenario
                steps.append("✓ Scenario voxfcgi_app_\(application.id) created (id \(scenario))")
            }
            let appID: UInt64
            let secure = application.secureRecordStorage
            let storage = secure == true ? "secure record storage" : "ordinary record storage"
            if let existing = voxAppID {
                appID = existing
                steps.append("✓ Application \(appID) exists")
                // An application from before the option keeps whatever Voximplant has.
                if let secure {
                    try vox.setSecureRecordStorage(applicationID: appID, secure)
                    steps.append("✓ Application set to \(storage)")
                }
            } else {
                appID = try vox.addApplication(name: "voxfcgi-\(application.id)", secureRecordStorage: secure ?? false)
                voxAppID = appID
                steps.append("✓ Application voxfcgi-\(application.id) created (id \(appID)), \(storage)")
            }
            // The scenario holds no secret: it reads these from its application.
            for secret in secrets {
                try vox.setSecret(applicationID: appID, name: secret.name, value: secret.value)
            }
            steps.append("✓ Secrets \(secrets.map(\.name).joined(separator: ", ")) set on the application")
            let rule: UInt64
            if let existing = ruleID {
                rule = existing
                steps.append("✓ Rule \(rule) exists")
            } else {
                rule = try vox.addRule(applicationID: appID, name: "voxfcgi-incoming", pattern: ".*", scenarioID: scenario)
                ruleID = rule
                steps.append("✓ Rule voxfcgi-incoming created (id \(rule))")
            }
            try vox.bindPhoneNumber(PhoneNumber.digits(application.phoneNumber), applicationID: appID, ruleID: rule)
            steps.append("✓ Number \(PhoneNumber.display(application.phoneNumber)) bound to the application")
            succeeded = true
        } catch let error as VoximplantError {
            steps.append("✗ Stopped: \(error.description)")
        }
        try setup.recordDeployment(applicationID: application.id, steps: steps, succeeded: succeeded, scenarioID: scenarioID,
                                   voximplantApplicationID: voxAppID, ruleID: ruleID)
        return application
    }
}

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
        var steps: [DeploymentStep] = []
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
                steps.append(.scenarioUpdated(id: id))
            } else {
                let name = "voxfcgi_app_\(application.id)"
                scenario = try vox.addScenario(name: name, script: code)
                scenarioID = scenario
                steps.append(.scenarioCreated(name: name, id: scenario))
            }
            let appID: UInt64
            let secure = application.secureRecordStorage
            if let existing = voxAppID {
                appID = existing
                steps.append(.applicationExists(id: appID))
                // An application from before the option keeps whatever Voximplant has.
                if let secure {
                    try vox.setSecureRecordStorage(applicationID: appID, secure)
                    steps.append(.applicationStorageSet(secure: secure))
                }
            } else {
                let name = "voxfcgi-\(application.id)"
                appID = try vox.addApplication(name: name, secureRecordStorage: secure ?? false)
                voxAppID = appID
                steps.append(.applicationCreated(name: name, id: appID, secure: secure ?? false))
            }
            // The scenario holds no secret: it reads these from its application.
            for secret in secrets {
                try vox.setSecret(applicationID: appID, name: secret.name, value: secret.value)
            }
            steps.append(.secretsSet(names: secrets.map(\.name)))
            let rule: UInt64
            if let existing = ruleID {
                rule = existing
                steps.append(.ruleExists(id: rule))
            } else {
                let name = "voxfcgi-incoming"
                rule = try vox.addRule(applicationID: appID, name: name, pattern: ".*", scenarioID: scenario)
                ruleID = rule
                steps.append(.ruleCreated(name: name, id: rule))
            }
            try vox.bindPhoneNumber(PhoneNumber.digits(application.phoneNumber), applicationID: appID, ruleID: rule)
            steps.append(.numberBound(number: application.phoneNumber))
            succeeded = true
        } catch let error as VoximplantError {
            steps.append(.stopped(error))
        }
        try setup.recordDeployment(applicationID: application.id, steps: steps.map(\.stored), succeeded: succeeded, scenarioID: scenarioID,
                                   voximplantApplicationID: voxAppID, ruleID: ruleID)
        return application
    }
}

/// One step of a deploy, kept on the application as data (`stored`, JSON) rather than as
/// words, so that its page says it in the reader's language. A line written by a version
/// before this reads back as `.recorded`, shown as it was written.
public enum DeploymentStep: Equatable, Sendable, Codable {
    case scenarioUpdated(id: UInt64)
    case scenarioCreated(name: String, id: UInt64)
    case applicationExists(id: UInt64)
    case applicationStorageSet(secure: Bool)
    case applicationCreated(name: String, id: UInt64, secure: Bool)
    case secretsSet(names: [String])
    case ruleExists(id: UInt64)
    case ruleCreated(name: String, id: UInt64)
    case numberBound(number: String)
    case stopped(VoximplantError)
    case recorded(String)

    public var stored: String {
        (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    public init(stored: String) {
        self = (try? JSONDecoder().decode(DeploymentStep.self, from: Data(stored.utf8))) ?? .recorded(stored)
    }

    public var succeeded: Bool {
        switch self {
        case .stopped: false
        case let .recorded(line): !line.hasPrefix("✗")
        default: true
        }
    }
}

import Foundation
import Testing
@testable import HTTPTransport
@testable import Integrations

@Suite(.serialized) struct VoximplantClientTests {
    let fakes: FakeServers
    init() throws { fakes = try FakeServers(sessions: 2_500) }

    func vox(_ http: HTTPClient = client("voximplant"), key: String = FakeServers.voxAPIKey) -> VoximplantClient {
        VoximplantClient(baseURL: fakes.voximplantURL, credentials: .init(accountID: "1234567", apiKey: key), http: http)
    }

    @Test func accountInfoAndListings() throws {
        let info = try vox().accountInfo()
        #expect(info.accountName == "acme-voice")
        #expect(info.balance?.value == 1523.75)
        #expect(info.currency == "RUB")
        #expect(try vox().applications().map(\.applicationID) == [501])
        #expect(try vox().phoneNumbers().map(\.phoneNumber) == ["74951234567", "12025550143"])
        #expect(try vox().scenarios().isEmpty)
    }

    @Test func wrongKeyIsAnAuthenticationError() throws {
        #expect(throws: VoximplantError.authentication("Authorization failed")) { try vox(key: "wrong").accountInfo() }
        let message = VoximplantError.authentication("x").description
        #expect(message.contains("wrong API key"))
    }

    @Test func callHistoryPagesThroughEverySession() throws {
        var offset = 0
        var ids: [UInt64] = []
        let from = try #require(VoximplantTime.parse(fakes.epoch))
        let to = from.addingTimeInterval(30 * 86_400)
        while true {
            let page = try vox().callHistory(from: from, to: to, offset: offset, count: 1000)
            ids += page.sessions.map(\.callSessionHistoryID)
            offset += page.sessions.count
            if page.sessions.count < 1000 { break }  // no total asked for: a short page is the last
        }
        #expect(ids.count == 2_500)
        #expect(Set(ids).count == 2_500)
        let first = try vox().callHistory(from: from, to: to, offset: 0, count: 1)
        let session = try #require(first.sessions.first)
        #expect(session.calls?.first?.remoteNumber?.hasPrefix("7999") == true)
        #expect(session.startedAt == from)
        let bare = try vox().callHistory(from: from, to: to, offset: 0, count: 1, withCalls: false, withRecords: false)
        #expect(bare.sessions.first?.calls == nil)
        #expect(bare.sessions.first?.records == nil)
        // The cost parts Voximplant bills separately, and end_reason's `details`.
        #expect(session.otherResourceUsage?.first?.cost?.value == 0.02)
        #expect(session.calls?.first?.endReason?.code != nil && session.calls?.first?.endReason?.text != nil)
    }

    /// GetCallHistory's offset stops at 10,000 (apiclient-nodejs src/Interfaces.ts): the client
    /// refuses to ask beyond it, and the fake refuses too.
    @Test func offsetBeyondTheCapIsRefused() throws {
        let from = try #require(VoximplantTime.parse(fakes.epoch))
        #expect(throws: VoximplantError.self) { try vox().callHistory(from: from, to: from + 86_400, offset: 10_001) }
        _ = try vox().callHistory(from: from, to: from + 86_400, offset: 10_000)
    }

    @Test func retriesThenSucceeds() throws {
        try fakes.fault("voximplant", match: "GetAccountInfo", mode: "500", times: 2)
        let sleeps = SleepRecorder()
        #expect(try vox(client("voximplant", sleeps: sleeps)).accountInfo().accountName == "acme-voice")
        #expect(sleeps.recorded.count == 2)
        // Exponential: the second wait's range starts where the first one's ends.
        #expect(sleeps.recorded[0] >= 0.1 && sleeps.recorded[0] <= 0.2)
        #expect(sleeps.recorded[1] >= 0.2 && sleeps.recorded[1] <= 0.4)
    }

    @Test func honoursRetryAfter() throws {
        try fakes.fault("voximplant", match: "GetApplications", mode: "429-retry-after", times: 1)
        let sleeps = SleepRecorder()
        _ = try vox(client("voximplant", sleeps: sleeps)).applications()
        #expect(sleeps.recorded == [1])
    }

    @Test func retryBudgetExhausted() throws {
        try fakes.fault("voximplant", match: "GetScenarios", mode: "429", times: 10)
        let sleeps = SleepRecorder()
        #expect(throws: VoximplantError.upstream(.gaveUp(service: "voximplant", status: 429, attempts: 3))) {
            try vox(client("voximplant", sleeps: sleeps, attempts: 3)).scenarios()
        }
        #expect(sleeps.recorded.count == 2)
    }

    @Test func slowResponseTimesOut() throws {
        try fakes.fault("voximplant", match: "GetPhoneNumbers", mode: "slow", times: 5)
        #expect(throws: VoximplantError.upstream(.timeout(service: "voximplant"))) {
            try vox(client("voximplant", sleeps: SleepRecorder(), totalTimeout: 0.5, attempts: 2)).phoneNumbers()
        }
    }

    @Test func malformedAndTruncatedBodies() throws {
        try fakes.fault("voximplant", match: "GetApplications", mode: "malformed")
        #expect(throws: VoximplantError.malformed(method: "GetApplications")) { try vox().applications() }
        try fakes.fault("voximplant", match: "GetApplications", mode: "truncated", times: 3)
        #expect(throws: (any Error).self) { try vox(client("voximplant", sleeps: SleepRecorder(), attempts: 3)).applications() }
    }

    @Test func deploymentCallsAreMade() throws {
        let client = vox()
        let scenario = try client.addScenario(name: "voxfcgi_support", script: "VoxEngine.terminate();")
        try client.setScenarioScript(scenarioID: scenario, script: "// v2")
        let app = try client.addApplication(name: "support", secureRecordStorage: true)
        try client.setSecureRecordStorage(applicationID: app, false)
        let rule = try client.addRule(applicationID: app, name: "incoming", pattern: ".*", scenarioID: scenario)
        try client.bindPhoneNumber("74951234567", applicationID: app, ruleID: rule)
        #expect(try client.rules(applicationID: app).map(\.ruleID) == [rule])
        let log = try fakes.deploymentLog().compactMap { $0["method"] as? String }
        #expect(log == ["AddScenario", "SetScenarioInfo", "AddApplication", "SetApplicationInfo", "AddRule", "BindPhoneNumberToApplication"])
        let flags = try fakes.deploymentLog().filter { ($0["method"] as? String)?.hasSuffix("Application") == true || $0["method"] as? String == "SetApplicationInfo" }
        #expect(flags.compactMap { $0["secure_record_storage"] as? Bool } == [true])
        #expect(flags.compactMap { $0["secure_record_storage"] as? String } == ["false"])
    }

    // MARK: Service accounts: the fake checks each token with PyJWT against the public key.

    @Test func serviceAccountTokenIsAcceptedAndNoKeyIsSent() throws {
        let key = try VoximplantServiceAccount(json: try fakes.serviceAccountFile())
        let client = VoximplantClient(baseURL: fakes.voximplantURL, credentials: .init(serviceAccount: key), http: client("voximplant"))
        #expect(try client.accountInfo().accountName == "acme-voice")
        #expect(try client.applications().map(\.applicationID) == [501])
        #expect(try fakes.authLog() == ["jwt", "jwt"])
        #expect(try client.bearerAuthorization()?.hasPrefix("Bearer ey") == true)
    }

    @Test func tokenSignedByAnotherKeyIsRefused() throws {
        // The fake's key id, someone else's private key: the signature cannot verify.
        let real = try JSONSerialization.jsonObject(with: Data(try fakes.serviceAccountFile())) as? [String: Any] ?? [:]
        let forged = VoximplantServiceAccountTests.file(accountID: 1234567, keyID: real["key_id"] ?? "")
        let client = VoximplantClient(baseURL: fakes.voximplantURL,
                                      credentials: .init(serviceAccount: try VoximplantServiceAccount(json: forged)), http: client("voximplant"))
        #expect(throws: VoximplantError.authentication("Authorization failed")) { try client.accountInfo() }
        #expect(try fakes.authLog().first?.hasPrefix("bad-jwt") == true)
    }

    @Test func expiredTokenIsRefused() throws {
        let key = try VoximplantServiceAccount(json: try fakes.serviceAccountFile())
        let client = VoximplantClient(baseURL: fakes.voximplantURL, credentials: .init(serviceAccount: key), http: client("voximplant"),
                                      now: { Date().addingTimeInterval(-3600) })
        #expect(throws: VoximplantError.authentication("Authorization failed")) { try client.accountInfo() }
    }

    @Test func accountInfoCarriesTheAPIAddress() throws {
        #expect(try vox().accountInfo().apiAddress == "https://api.voximplant.com")
    }

    @Test func apiKeyNeverInTheURL() throws {
        // The key travels in the POST body; a request path is what logs may record.
        let request = HTTPRequest(method: "POST", url: fakes.voximplantURL + "/GetAccountInfo/?x=1")
        #expect(request.loggablePath == "/GetAccountInfo/")
    }
}

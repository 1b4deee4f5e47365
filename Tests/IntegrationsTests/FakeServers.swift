import Foundation
import HTTPTransport
@testable import Integrations
import Logging
import TestSupport

/// Tests/fakes/fakes.py on loopback: the fake Voximplant and ElevenLabs, one process per test.
final class FakeServers {
    let server: ReadyProcess
    let voximplantURL: String
    let elevenLabsURL: String
    /// Where the fake's call history starts (`start_date` of its first session): a week before
    /// the fake started, so tests read it rather than assume a date.
    let epoch: String
    static let voxAPIKey = "vox-test-api-key-0000-1111"
    static let elevenLabsKey = "el-test-api-key-2222-3333"

    init(sessions: Int = 2500) throws {
        server = try ReadyProcess(script: "Tests/fakes/fakes.py", arguments: ["--sessions", String(sessions)])
        voximplantURL = "http://127.0.0.1:\(server.fields["voximplant"] ?? "0")"
        elevenLabsURL = "http://127.0.0.1:\(server.fields["elevenlabs"] ?? "0")"
        epoch = (server.fields["epoch"] ?? "").replacingOccurrences(of: "T", with: " ")
    }

    deinit { server.kill() }

    /// Makes the next `times` requests whose method or path contains `match` fail with `mode`.
    func fault(_ service: String, match: String, mode: String, times: Int = 1) throws {
        let base = service == "voximplant" ? voximplantURL : elevenLabsURL
        let body = try JSONSerialization.data(withJSONObject: ["match": match, "mode": mode, "times": times])
        _ = try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(
            HTTPRequest(method: "POST", url: base + "/_control/fault", headers: [("Content-Type", "application/json")], body: Array(body)))
    }

    func elevenLabsControl(_ path: String, _ body: [String: Any]) throws {
        _ = try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(
            HTTPRequest(method: "POST", url: elevenLabsURL + path, headers: [("Content-Type", "application/json")],
                        body: Array(try JSONSerialization.data(withJSONObject: body))))
    }

    /// The fake's own service-account file (it keeps the public half to check tokens).
    func serviceAccountFile() throws -> [UInt8] {
        try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(
            HTTPRequest(url: voximplantURL + "/_control/service-account")).body
    }

    /// How each request authenticated, as the fake saw it ("jwt", "api_key", "bad-jwt: …").
    func authLog() throws -> [String] {
        let response = try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(HTTPRequest(url: voximplantURL + "/_control/auth-log"))
        return ((try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]]) ?? []).compactMap { $0["auth"] as? String }
    }

    func deploymentLog() throws -> [[String: Any]] {
        let response = try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(HTTPRequest(url: voximplantURL + "/_control/log"))
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]]) ?? []
    }
}

/// An HTTP client that records its sleeps instead of sleeping, so retry tests run fast and
/// can check the delays.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var delays: [TimeInterval] = []
    var recorded: [TimeInterval] { lock.lock(); defer { lock.unlock() }; return delays }
    func record(_ delay: TimeInterval) { lock.lock(); delays.append(delay); lock.unlock() }
}

func client(_ service: String, sleeps: SleepRecorder? = nil, totalTimeout: TimeInterval = 10, attempts: Int = 4) -> HTTPClient {
    var configuration = HTTPClient.Configuration(service: service)
    configuration.totalTimeout = totalTimeout
    configuration.retry = RetryPolicy(maxAttempts: attempts, baseDelay: 0.2, maxDelay: 5)
    configuration.ratePerSecond = 1_000
    configuration.burst = 1_000
    if let sleeps { return HTTPClient(configuration: configuration, logger: testLogger, sleep: { sleeps.record($0) }) }
    return HTTPClient(configuration: configuration, logger: testLogger)
}

let testLogger = Logger(label: "test")

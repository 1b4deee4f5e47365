import Foundation
@testable import Integrations

/// Tests/fakes/fakes.py on loopback: the fake Voximplant and ElevenLabs, one process per test.
final class FakeServers {
    let process = Process()
    let voximplantURL: String
    let elevenLabsURL: String
    static let voxCredentials = VoximplantClient.Credentials(accountID: "1234567", apiKey: "vox-test-api-key-0000-1111")
    static let elevenLabsKey = "el-test-api-key-2222-3333"

    init(sessions: Int = 2500) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("Tests/fakes/fakes.py").path, "--sessions", String(sessions)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        func port(_ name: String) -> String {
            text.split(separator: " ").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "0"
        }
        voximplantURL = "http://127.0.0.1:\(port("voximplant"))"
        elevenLabsURL = "http://127.0.0.1:\(port("elevenlabs"))"
    }

    deinit {
        // Not waitUntilExit: it spins a run loop, which can stall under Swift Testing's executor.
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Makes the next `times` requests whose method or path contains `match` fail with `mode`.
    func fault(_ service: String, match: String, mode: String, times: Int = 1) throws {
        let base = service == "voximplant" ? voximplantURL : elevenLabsURL
        let body = try JSONSerialization.data(withJSONObject: ["match": match, "mode": mode, "times": times])
        _ = try HTTPClient(configuration: .init(service: "control")).send(
            HTTPRequest(method: "POST", url: base + "/_control/fault", headers: [("Content-Type", "application/json")], body: Array(body)))
    }

    func deploymentLog() throws -> [[String: Any]] {
        let response = try HTTPClient(configuration: .init(service: "control")).send(HTTPRequest(url: voximplantURL + "/_control/log"))
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
    if let sleeps { return HTTPClient(configuration: configuration, sleep: { sleeps.record($0) }) }
    return HTTPClient(configuration: configuration)
}

import Foundation
import Testing
import VoxCore

@Suite struct ScenarioTests {
    let generator = ScenarioGenerator()
    let known = ScenarioGenerator.Input(
        applicationID: 42, applicationName: "Support line", agentID: "agent_7101k5zvyjhmfg983brhmhkd98n6",
        webhookURL: "https://voice-admin.example.com/api/webhook/voximplant", record: true)

    /// Record mode, as in snapshot testing: `VOXFCGI_RECORD_EXPECTED=1 swift test --filter ScenarioTests`
    /// rewrites the expected file in the source tree; review its diff before committing.
    @Test func matchesTheReviewedFile() throws {
        if ProcessInfo.processInfo.environment["VOXFCGI_RECORD_EXPECTED"] != nil {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Expected/support-line.voxengine.js")
            try generator.generate(known).write(to: source, atomically: true, encoding: .utf8)
        }
        let url = try #require(Bundle.module.url(forResource: "Expected/support-line.voxengine", withExtension: "js"))
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(generator.generate(known) == expected)
    }

    @Test func escapesEveryInterpolatedString() throws {
        var hostile = known
        hostile.applicationName = "x\"; VoxEngine.terminate(); //\n</script>\u{2028}"
        hostile.agentID = "a\\\"b"
        hostile.elevenLabsBaseURL = "'`${1}"
        let code = generator.generate(hostile)
        #expect(!code.contains("\"; VoxEngine.terminate(); //\n"))
        #expect(code.contains(#"agentId: "a\\\"b""#))
        #expect(!code.contains("</script>"))
        try nodeCheck(code)
    }

    /// The scenario text carries no secret: they are Voximplant application secrets, read
    /// with `VoxEngine.getSecretValue`.
    @Test func holdsNoSecret() throws {
        let code = generator.generate(known)
        #expect(code.contains("VoxEngine.getSecretValue(SECRETS.webhookSecret)"))
        #expect(code.contains("VoxEngine.getSecretValue(SECRETS.elevenLabsApiKey)"))
        #expect(!code.contains("xiApiKey: \""))
        #expect(!code.contains("baseUrl = CONFIG") || code.contains("elevenLabsBaseUrl: null"))
    }

    @Test func generatedCodeParses() throws {
        try nodeCheck(generator.generate(known))
        var plain = known
        plain.record = false
        try nodeCheck(generator.generate(plain))
    }

    /// `node --check`: the code parses as JavaScript (node from Debian; the test fails if absent).
    func nodeCheck(_ code: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID()).js").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try code.write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["node", "--check", path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "node --check: \(message)")
    }
}

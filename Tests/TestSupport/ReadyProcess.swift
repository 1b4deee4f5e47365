import Foundation

/// A test server script (Tests/fakes/*.py) run as a child process: started, then read up to
/// its first line, which says it is ready and where (`ready key=value …`).
public final class ReadyProcess: @unchecked Sendable {
    public let process = Process()
    /// The `key=value` fields of the ready line.
    public let fields: [String: String]

    /// `script` is relative to the package root, e.g. `Tests/fakes/fakes.py`.
    public init(script: String, arguments: [String] = []) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent(script).path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        var fields: [String: String] = [:]
        for part in String(decoding: line, as: UTF8.self).split(whereSeparator: \.isWhitespace) {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        self.fields = fields
    }

    /// Not waitUntilExit: it spins a run loop, which can stall under Swift Testing's executor.
    public func kill() {
        let pid = process.processIdentifier
        Foundation.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

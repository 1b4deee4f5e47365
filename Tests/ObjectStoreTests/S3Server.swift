import CryptoPrimitives
import Foundation
import HTTPTransport
import Logging
@testable import ObjectStore
import TestSupport

/// Tests/fakes/s3server.py: moto's S3 with signature checking on, and an IAM user's key.
/// One server for the whole test run; each test works under its own key prefix.
final class S3Server: @unchecked Sendable {
    static let shared: S3Server = try! S3Server()

    let server: ReadyProcess
    let endpoint: String
    let credentials: AWSCredentials
    let bucket = "recordings"

    private init() throws {
        server = try ReadyProcess(script: "Tests/fakes/s3server.py", arguments: ["--bucket", bucket])
        endpoint = "http://127.0.0.1:\(server.fields["port"] ?? "0")"
        credentials = AWSCredentials(accessKeyID: server.fields["access_key"] ?? "", secretAccessKey: server.fields["secret_key"] ?? "")
        atexit { S3Server.shared.server.kill() }
    }

    /// `virtualHost` addresses the bucket as `recordings.localhost:<port>`: curl resolves any
    /// `*.localhost` name to loopback by itself, and moto reads the bucket from the host.
    func store(secret: String? = nil, partSize: Int64 = 5 << 20, threshold: Int64 = 6 << 20, virtualHost: Bool = false,
               now: @escaping @Sendable () -> Date = { Date() }) -> S3Store {
        var configuration = S3Configuration(endpoint: virtualHost ? endpoint.replacingOccurrences(of: "127.0.0.1", with: "localhost") : endpoint,
                                            region: "us-east-1", bucket: bucket, addressing: virtualHost ? .virtualHost : .path,
                                            accessKeyID: credentials.accessKeyID)
        configuration.partSize = partSize
        configuration.multipartThreshold = threshold
        var credentials = self.credentials
        if let secret { credentials.secretAccessKey = secret }
        return S3Store(configuration: configuration, credentials: credentials,
                       retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05, maxDelay: 0.1), logger: Logger(label: "test"), now: now)
    }
}

/// A scratch directory per test, removed at the end.
final class Scratch {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "voxfcgi-objectstore-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A file of `size` deterministic pseudo-random bytes, written 1 MiB at a time.
    func file(_ name: String, size: Int, seed: UInt64 = 1) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        let handle = FileHandle(forWritingAtPath: file)!
        var state = seed
        var remaining = size
        while remaining > 0 {
            let count = min(remaining, 1 << 20)
            var chunk = [UInt8](repeating: 0, count: count)
            for index in stride(from: 0, to: count, by: 8) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                withUnsafeBytes(of: state) { bytes in
                    for offset in 0..<min(8, count - index) { chunk[index + offset] = bytes[offset] }
                }
            }
            handle.write(Data(chunk))
            remaining -= count
        }
        handle.closeFile()
        return file
    }

    func text(_ name: String, _ contents: String) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(contents.utf8))
        return file
    }
}

func sha256(file: String) throws -> String {
    try FileDigest.sha256(file: file)
}

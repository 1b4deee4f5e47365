import Foundation
@testable import HTTPTransport
import Logging
import TestSupport
import Testing

/// Issue 12, section 2: a URL from outside cannot aim our fetches. Against a hostile source
/// on loopback (Tests/fakes/hostile_source.py) and a trap listener that counts accepts.
@Suite(.serialized) final class OutboundPolicyTests {
    let source: ReadyProcess
    let base: String
    let trap: String

    init() throws {
        source = try ReadyProcess(script: "Tests/fakes/hostile_source.py")
        base = "http://127.0.0.1:\(source.fields["port"] ?? "0")"
        trap = "http://127.0.0.1:\(source.fields["trap"] ?? "0")"
    }

    deinit { source.kill() }

    func accepts() throws -> Int {
        Int(try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(HTTPRequest(url: base + "/_accepts")).text) ?? -1
    }

    /// The source's origin allowed explicitly, as the tests' settings do; the trap's not.
    func policy(_ sources: String? = nil, maxBytes: Int64 = 1 << 20, lowSpeed: (Int, Int) = (1000, 2)) throws -> OutboundPolicy {
        .untrusted(try OriginAllowList(sources ?? base), maxBodyBytes: maxBytes, lowSpeed: (lowSpeed.0, lowSpeed.1))
    }

    func fetch(_ url: String, _ policy: OutboundPolicy) throws -> HTTPResponse {
        var configuration = HTTPClient.Configuration(service: "recordings")
        configuration.retry = RetryPolicy(maxAttempts: 1)
        configuration.totalTimeout = 30
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("download-\(UUID())").path
        defer { unlink(path) }
        return try HTTPClient(configuration: configuration, logger: testLogger).download(HTTPRequest(url: url, policy: policy), to: path)
    }

    func expectRefused(_ url: String, _ policy: OutboundPolicy, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try fetch(url, policy)
            Issue.record("fetched \(url)", sourceLocation: sourceLocation)
        } catch let error as UpstreamError {
            #expect(error.isPermanent && error.description.contains(words), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func anAllowedSourceIsFetched() throws {
        #expect(try fetch(base + "/audio.mp3", policy()).status == 200)
    }

    /// A proxy from the environment would see the URL's host instead of us; none is used.
    @Test func environmentProxiesAreIgnored() throws {
        setenv("http_proxy", trap, 1)
        setenv("ALL_PROXY", trap, 1)
        defer { unsetenv("http_proxy"); unsetenv("ALL_PROXY") }
        let before = try accepts()
        #expect(try fetch(base + "/audio.mp3", policy()).status == 200)
        #expect(try accepts() == before)
    }

    @Test func refusedTargetsSeeNoConnectionAtAll() throws {
        let before = try accepts()
        // Not an allowed origin.
        expectRefused(trap + "/x", try policy(), "not an allowed source")
        // An allowed name that resolves to loopback: refused after DNS, before connecting.
        let port = source.fields["trap"] ?? "0"
        expectRefused("http://localhost:\(port)/x", try policy("http://localhost:\(port)"), "not a public address")
        // A redirect from the allowed source to the trap, and to cloud metadata.
        expectRefused(base + "/redirect?to=" + trap + "/x", try policy(), "not an allowed source")
        expectRefused(base + "/redirect?to=http://169.254.169.254/latest/meta-data/", try policy(), "not an allowed source")
        // Other schemes and URLs with credentials.
        expectRefused("file:///etc/passwd", try policy(), "scheme")
        expectRefused("gopher://127.0.0.1:\(port)/", try policy(), "scheme")
        expectRefused("http://user:pass@127.0.0.1:\(source.fields["port"] ?? "0")/audio.mp3", try policy(), "credentials")
        #expect(try accepts() == before)
    }

    @Test func httpIsUpgradedOnlyWhereHTTPSIsAllowed() throws {
        let port = source.fields["port"] ?? "0"
        // Allowed over https only: an http URL is fetched over https (this plain server then
        // fails the TLS handshake), never over http.
        do {
            _ = try fetch(base + "/audio.mp3", try policy("https://127.0.0.1:\(port)"))
            Issue.record("fetched over http")
        } catch let error as UpstreamError {
            #expect(!error.isPermanent, "\(error)")  // a TLS failure, not a plain-http fetch
        }
    }

    @Test func addressClasses() {
        for address in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                        "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
                        "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2001:db8::1", "::7f00:1", "::a9fe:a9fe",
                        "2002:a9fe:a9fe::1", "2002:7f00:1::", "fec0::1", "64:ff9b:1::a9fe:a9fe"] {
            #expect(!AddressClass.isPublic(AddressClass.bytes(of: address)!), "\(address)")
        }
        for address in ["8.8.8.8", "1.1.1.1", "2a00:1450:4001:800::200e", "::ffff:8.8.8.8", "172.32.0.1", "100.128.0.1",
                        "2002:808:808::1"] {
            #expect(AddressClass.isPublic(AddressClass.bytes(of: address)!), "\(address)")
        }
    }

    @Test func allowListSyntax() throws {
        let list = try OriginAllowList("https://*.voximplant.com, http://127.0.0.1:8123")
        #expect(list.permits(scheme: "https", host: "www-ru-03-4.voximplant.com", port: nil))
        #expect(list.permits(scheme: "https", host: "voximplant.com", port: 443))
        #expect(!list.permits(scheme: "https", host: "evilvoximplant.com", port: nil))
        #expect(!list.permits(scheme: "https", host: "voximplant.com.evil.example", port: nil))
        #expect(!list.permits(scheme: "http", host: "www.voximplant.com", port: nil))
        #expect(!list.permits(scheme: "https", host: "www.voximplant.com", port: 8443))
        #expect(list.permits(scheme: "http", host: "127.0.0.1", port: 8123))
        #expect(!list.permits(scheme: "http", host: "127.0.0.1", port: 8124))
        for bad in ["ftp://x.example", "https://", "https://x.example/path", "not a url"] {
            #expect(throws: OutboundRefusal.self) { try OriginAllowList(bad) }
        }
    }

    @Test func aTarpitIsAbandonedWithinTheLowSpeedLimit() throws {
        let started = Date()
        do {
            _ = try fetch(base + "/tarpit", try policy(lowSpeed: (1000, 2)))
            Issue.record("the tarpit finished")
        } catch let error as UpstreamError {
            #expect(error == .timeout(service: "recordings"), "\(error)")
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 6, "took \(elapsed) s against a 2 s low-speed limit")
        // And the source saw the connection go.
        var seen: Double?
        for _ in 0..<40 where seen == nil {
            seen = Double(try HTTPClient(configuration: .init(service: "control"), logger: testLogger).send(HTTPRequest(url: base + "/_tarpit")).text)
            if seen == nil { Thread.sleep(forTimeInterval: 0.25) }
        }
        #expect((seen ?? 99) < 8, "the tarpit held the connection \(seen ?? -1) s")
    }

    @Test func bodiesOverTheLimitAreCutAndNothingIsDecompressed() throws {
        expectRefused(base + "/big?bytes=3000000", try policy(maxBytes: 1 << 20), "limit")
        // No Accept-Encoding is sent and nothing is inflated: the gzip body arrives as it is.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(UUID())").path
        defer { unlink(path) }
        var configuration = HTTPClient.Configuration(service: "recordings")
        configuration.retry = RetryPolicy(maxAttempts: 1)
        _ = try HTTPClient(configuration: configuration, logger: testLogger).download(HTTPRequest(url: base + "/gzip-bomb", policy: try policy()), to: path)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
        #expect(size > 0 && size < 1 << 20, "\(size) bytes on disk")
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        #expect(mode & 0o077 == 0, "downloads are private: \(String(mode, radix: 8))")
    }
}

let testLogger = Logger(label: "test")

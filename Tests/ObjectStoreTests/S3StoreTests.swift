import Foundation
import HTTPTransport
import Logging
import Testing
@testable import ObjectStore

/// S3Store against a real S3 API (moto) that checks every signature.
@Suite struct S3StoreTests {
    let server = S3Server.shared
    let scratch = Scratch()
    let prefix = "t-\(UUID().uuidString.prefix(8))/"

    @Test func putGetHeadListDelete() throws {
        let store = server.store()
        let key = try ObjectKey(prefix + "calls/2026/11/42.mp3")
        let source = scratch.text("in.mp3", "ID3 not really audio")
        let stored = try store.put(key, fromFile: source, contentType: "audio/mpeg")
        #expect(stored.size == 20)

        let head = try #require(try store.head(key))
        #expect(head.size == 20)
        #expect(head.contentType == "audio/mpeg")

        let copy = scratch.path + "/out.mp3"
        try store.get(key, toFile: copy)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "ID3 not really audio")
        #expect(try store.list(prefix: prefix).map(\.key) == [key.rawValue])

        try store.delete(key)
        #expect(try store.head(key) == nil)
        #expect(try store.list(prefix: prefix).isEmpty)
        #expect(throws: ObjectStoreError.notFound(key: key.rawValue)) { try store.get(key, toFile: copy) }
        try store.delete(key)  // deleting what is gone is fine
    }

    @Test func virtualHostedAddressingAgainstTheServer() throws {
        let store = server.store(virtualHost: true)
        #expect(store.location(try ObjectKey("k")).host.hasPrefix("recordings.localhost:"))
        let key = try ObjectKey(prefix + "virtual host+key.mp3")
        try store.put(key, fromFile: scratch.text("v.mp3", "by virtual host"), contentType: "audio/mpeg")
        #expect(try store.head(key)?.size == 15)
        // The same object, read back path-style: it landed in the bucket named by the host.
        let copy = scratch.path + "/v.copy"
        try server.store().get(key, toFile: copy)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "by virtual host")
        #expect(try store.list(prefix: prefix).map(\.key) == [key.rawValue])
        try store.delete(key)
        #expect(try server.store().head(key) == nil)
    }

    @Test func sessionTokenIsSentAndSigned() throws {
        // The same key pair works without a token (the other tests); with one, moto reads the
        // x-amz-security-token header and refuses a token STS never issued. So the token is sent.
        let key = try ObjectKey(prefix + "token.txt")
        var configuration = server.store().configuration
        configuration.multipartThreshold = 1 << 20
        let store = S3Store(configuration: configuration,
                            credentials: AWSCredentials(accessKeyID: server.credentials.accessKeyID,
                                                        secretAccessKey: server.credentials.secretAccessKey, sessionToken: "FQoGZXIvYXdz+token/=="),
                            retry: RetryPolicy(maxAttempts: 1), logger: Logger(label: "test"))
        do {
            try store.put(key, fromFile: scratch.text("t", "t"), contentType: "text/plain")
            Issue.record("an unknown session token was accepted")
        } catch let ObjectStoreError.refused(status, code, _) {
            #expect(status == 400 && code == "InvalidToken")
        }
    }

    @Test func wrongSecretIsRefused() throws {
        let store = server.store(secret: "not-the-secret")
        let key = try ObjectKey(prefix + "x.txt")
        do {
            try store.put(key, fromFile: scratch.text("x.txt", "x"), contentType: "text/plain")
            Issue.record("a wrong secret was accepted")
        } catch let ObjectStoreError.refused(status, code, _) {
            #expect(status == 403)
            #expect(code == "SignatureDoesNotMatch")
        }
        #expect(try server.store().head(key) == nil)
    }

    @Test(arguments: ["with space.mp3", "plus+sign.mp3", "Запись звонка.mp3", "deep/er/and/deeper/file.wav", "mixed +/Ünïcode (1)~.ogg"])
    func oddKeysRoundTrip(name: String) throws {
        let store = server.store()
        let key = try ObjectKey(prefix + name)
        try store.put(key, fromFile: scratch.text("odd", name), contentType: "audio/ogg")
        #expect(try store.head(key)?.size == Int64(name.utf8.count))
        let copy = scratch.path + "/copy"
        try store.get(key, toFile: copy)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == name)
        #expect(try store.list(prefix: prefix).map(\.key) == [key.rawValue])
        try store.delete(key)
        #expect(try store.head(key) == nil)
    }

    @Test func multipartRoundTripKeepsTheChecksum() throws {
        let store = server.store(partSize: 5 << 20, threshold: 6 << 20)
        let source = scratch.file("big.bin", size: 13 << 20 | 12_345)
        let key = try ObjectKey(prefix + "big.bin")
        let stored = try store.put(key, fromFile: source, contentType: "audio/wav")
        // A multipart ETag is "<md5 of the part md5s>-<parts>": three parts here.
        #expect(stored.etag?.hasSuffix("-3\"") == true)
        #expect(try store.head(key)?.size == Int64(13 << 20 | 12_345))
        let copy = scratch.path + "/big.copy"
        try store.get(key, toFile: copy)
        #expect(try sha256(file: copy) == sha256(file: source))
    }

    @Test func failedMultipartUploadIsAborted() throws {
        let source = scratch.file("shrinks.bin", size: 11 << 20)
        // The third signing happens for part 2, after CreateMultipartUpload and part 1: cut the
        // file short there, so that part cannot be read.
        let signings = Counter()
        let store = server.store(now: {
            if signings.increment() == 3 { truncate(source, 1 << 20) }
            return Date()
        })
        var configuration = store.configuration
        configuration.concurrency = 1
        let serial = S3Store(configuration: configuration, credentials: server.credentials,
                             retry: RetryPolicy(maxAttempts: 1), logger: Logger(label: "test"), now: store.now)
        let key = try ObjectKey(prefix + "shrinks.bin")
        #expect(throws: (any Error).self) { try serial.put(key, fromFile: source, contentType: "audio/wav") }
        #expect(try serial.head(key) == nil)
        let uploads = try serial.send("GET", key: nil, query: [("uploads", nil), ("prefix", prefix)])
        #expect(uploads.status == 200)
        #expect(!uploads.text.contains("<UploadId>"), "the failed upload was not aborted: \(uploads.text)")
    }

    /// A worker killed mid-upload leaves an unfinished upload of the key; the next upload of
    /// that key aborts it before starting its own, so none is left once it completes.
    @Test func anEarlierUnfinishedUploadOfTheKeyIsAborted() throws {
        let store = server.store(partSize: 5 << 20, threshold: 6 << 20)
        let key = try ObjectKey(prefix + "rerun.bin")
        let earlier = try store.send("POST", key: key, query: [("uploads", nil)], headers: [("Content-Type", "audio/wav")])
        #expect(earlier.status == 200)
        let other = try ObjectKey(prefix + "rerun.bin.other")
        _ = try store.send("POST", key: other, query: [("uploads", nil)], headers: [("Content-Type", "audio/wav")])

        try store.put(key, fromFile: scratch.file("rerun.bin", size: 11 << 20), contentType: "audio/wav")
        let uploads = try store.send("GET", key: nil, query: [("uploads", nil), ("prefix", prefix)])
        #expect(uploads.text.components(separatedBy: "<UploadId>").count == 2, "only the other key's upload is left: \(uploads.text)")
        #expect(uploads.text.contains("<Key>\(other.rawValue)</Key>"))
    }

    @Test func presignedURLCarriesTheResponseOverrides() throws {
        let store = server.store()
        let key = try ObjectKey(prefix + "a b.mp3")
        guard case let .url(url) = try store.access(key, AccessOptions(contentType: "audio/mpeg", downloadName: "call 42.mp3")) else {
            Issue.record("S3 access must be a URL")
            return
        }
        #expect(url.hasPrefix(server.endpoint + "/recordings/" + prefix + "a%20b.mp3?"))
        #expect(url.contains("response-content-type=audio%2Fmpeg"))
        #expect(url.contains("response-content-disposition=attachment%3B%20filename%3D%22call%2042.mp3%22"))
        #expect(url.contains("X-Amz-Expires=300") && url.contains("&X-Amz-Signature="))
    }

    @Test func virtualHostAddressingPutsTheBucketInTheHost() {
        var configuration = S3Configuration(endpoint: "https://s3.eu-central-1.amazonaws.com", region: "eu-central-1",
                                            bucket: "calls", addressing: .virtualHost, accessKeyID: "AK")
        let store = S3Store(configuration: configuration, credentials: AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK"),
                            logger: Logger(label: "test"))
        let location = store.location(try? ObjectKey("a b/c.mp3"))
        #expect(location.host == "calls.s3.eu-central-1.amazonaws.com")
        #expect(location.path == "/a b/c.mp3")
        #expect(location.url == "https://calls.s3.eu-central-1.amazonaws.com/a%20b/c.mp3")
        configuration.addressing = .path
        configuration.endpoint = "http://minio.local:9000"
        let pathStyle = S3Store(configuration: configuration, credentials: AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK"),
                            logger: Logger(label: "test"))
        #expect(pathStyle.location(try? ObjectKey("k")).url == "http://minio.local:9000/calls/k")
    }

    @Test func configurationProblemsAreExplained() {
        var configuration = S3Configuration(endpoint: "s3.amazonaws.com", region: "us east", bucket: "AB", addressing: .path, accessKeyID: "")
        #expect(configuration.problems.count == 4)
        configuration = S3Configuration(endpoint: "https://s3.amazonaws.com", region: "us-east-1", bucket: "my-calls", addressing: .path,
                                        accessKeyID: "AKIA")
        #expect(configuration.problems.isEmpty)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}

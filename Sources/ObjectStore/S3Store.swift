import CryptoPrimitives
import Essentials
import Foundation
import HTTPTransport
import Logging

/// An S3-compatible bucket (AWS S3, MinIO, Ceph, moto), signed with `SigV4Signer` and sent
/// with libcurl through `HTTPClient` (retries with backoff on 5xx, 429 and timeouts).
///
/// Uploads stream from the file: a single PUT up to `multipartThreshold`, above it a
/// multipart upload whose parts are read from their file offsets as curl sends them, a few
/// at a time, and aborted if any part finally fails. Each body's SHA-256 is signed
/// (`x-amz-content-sha256`), so the server rejects bytes that changed on the way.
public final class S3Store: ObjectStore, @unchecked Sendable {
    public let configuration: S3Configuration
    let signer: SigV4Signer
    let http: HTTPClient
    let now: @Sendable () -> Date

    public init(configuration: S3Configuration, credentials: AWSCredentials, retry: RetryPolicy = RetryPolicy(),
                logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: credentials, region: configuration.region, service: "s3")
        var http = HTTPClient.Configuration(service: "s3")
        http.totalTimeout = configuration.requestTimeout
        http.retry = retry
        // S3 allows thousands of requests per second per prefix; the limiter only smooths bursts.
        http.ratePerSecond = 500
        http.burst = 100
        self.http = HTTPClient(configuration: http, logger: logger)
        self.now = now
    }

    public var label: String { "s3://\(configuration.bucket)" }

    // MARK: ObjectStore

    @discardableResult
    public func put(_ key: ObjectKey, fromFile path: String, contentType: String) throws -> ObjectInfo {
        let size = try FileDigest.uploadSize(path)
        if size <= configuration.multipartThreshold {
            let hash = try FileDigest.sha256(FileRegion(path: path, length: size))
            let response = try send("PUT", key: key, headers: [("Content-Type", contentType)], payloadHash: hash,
                                    upload: FileRegion(path: path, length: size))
            try expect(response, key: key)
            return ObjectInfo(key: key.rawValue, size: size, contentType: contentType, etag: response.headers["etag"])
        }
        return try MultipartUpload(store: self, key: key, path: path, size: size, contentType: contentType).run()
    }

    @discardableResult
    public func put(_ key: ObjectKey, from source: any ByteSource, contentType: String) throws -> ObjectInfo {
        try StreamingUpload(store: self, key: key, source: source, contentType: contentType).run()
    }

    public func get(_ key: ObjectKey, toFile path: String) throws {
        let (url, headers) = signed("GET", key: key, payloadHash: SigV4Signer.emptyPayloadHash)
        let response = try transport { try http.download(HTTPRequest(method: "GET", url: url, headers: headers), to: path) }
        if response.status == 404 { throw ObjectStoreError.notFound(key: key.rawValue) }
        try expect(response, key: key)
    }

    public func head(_ key: ObjectKey) throws -> ObjectInfo? {
        let response = try send("HEAD", key: key, expectedStatuses: [404])
        if response.status == 404 { return nil }
        try expect(response, key: key)
        return ObjectInfo(key: key.rawValue, size: Int64(response.headers["content-length"] ?? "") ?? 0,
                          contentType: response.headers["content-type"], etag: response.headers["etag"])
    }

    public func delete(_ key: ObjectKey) throws {
        let response = try send("DELETE", key: key, expectedStatuses: [404])
        if response.status == 404 { return }
        try expect(response, key: key)
    }

    public func list(prefix: String) throws -> [ObjectInfo] {
        var found: [ObjectInfo] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String?)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try send("GET", key: nil, query: query)
            try expect(response, key: nil)
            guard let root = XMLNode.parse(response.body) else { throw ObjectStoreError.unavailable("unreadable listing") }
            for item in root.all("Contents") {
                guard let key = item.value("Key") else { continue }
                found.append(ObjectInfo(key: key, size: Int64(item.value("Size") ?? "") ?? 0, etag: item.value("ETag")))
            }
            token = root.value("IsTruncated") == "true" ? root.value("NextContinuationToken") : nil
        } while token != nil
        return found
    }

    /// A presigned GET, valid for `expiresIn`, that makes the bucket answer with our content
    /// type (and, for downloads, an attachment file name) whatever the object was stored with.
    public func access(_ key: ObjectKey, _ options: AccessOptions) throws -> ObjectAccess {
        var query: [(name: String, value: String?)] = [("response-content-type", options.contentType)]
        if let disposition = options.contentDisposition { query.append(("response-content-disposition", disposition)) }
        let location = self.location(key)
        let signed = signer.presignedQuery(method: "GET", host: location.host, path: location.path, query: query,
                                           expires: Int(options.expiresIn), date: now())
        return .url(location.url + "?" + signed)
    }

    // MARK: Requests

    struct Location {
        var host: String
        var path: String
        var url: String
    }

    /// Host, raw path (what is signed) and URL (the same path, encoded as signed).
    func location(_ key: ObjectKey?) -> Location {
        let endpoint = URL(string: configuration.endpoint)!
        let scheme = endpoint.scheme ?? "https"
        var host = endpoint.host ?? ""
        if let port = endpoint.port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) { host += ":\(port)" }
        var path = "/"
        switch configuration.addressing {
        case .path: path += configuration.bucket + (key.map { "/" + $0.rawValue } ?? "")
        case .virtualHost:
            host = configuration.bucket + "." + host
            path += key?.rawValue ?? ""
        }
        return Location(host: host, path: path, url: "\(scheme)://\(host)\(PercentEncoding.encode(path, keepSlash: true))")
    }

    /// The URL (with its query) and the headers to send, signed now.
    func signed(_ method: String, key: ObjectKey?, query: [(name: String, value: String?)] = [],
                headers: [(name: String, value: String)] = [], payloadHash: String) -> (String, [(String, String)]) {
        let location = self.location(key)
        let request = SigV4Signer.Request(method: method, path: location.path, query: query,
                                          headers: headers + [("Host", location.host), ("x-amz-content-sha256", payloadHash)],
                                          payloadHash: payloadHash)
        let url = location.url + (query.isEmpty ? "" : "?" + SigV4Signer.canonicalQuery(query))
        return (url, signer.signedHeaders(request, date: now()).map { ($0.name, $0.value) })
    }

    func send(_ method: String, key: ObjectKey?, query: [(name: String, value: String?)] = [],
              headers: [(name: String, value: String)] = [], body: [UInt8]? = nil, payloadHash: String? = nil,
              upload: FileRegion? = nil, expectedStatuses: Set<Int> = []) throws -> HTTPResponse {
        let hash = payloadHash ?? SHA256.hash(body ?? []).hexString
        // Re-signed on every attempt would be better for very long retries (the signature is
        // valid for 15 minutes); HTTPClient's retries are within seconds, so one signature does.
        let (url, signedHeaders) = signed(method, key: key, query: query, headers: headers, payloadHash: hash)
        return try transport {
            try http.send(HTTPRequest(method: method, url: url, headers: signedHeaders, body: body, upload: upload,
                                      expectedStatuses: expectedStatuses))
        }
    }

    /// Transport failures that outlasted the retries are "unavailable": the caller may try later.
    func transport(_ body: () throws -> HTTPResponse) throws -> HTTPResponse {
        do { return try body() } catch let error as UpstreamError {
            throw ObjectStoreError.unavailable(error.description)
        } catch let error as ObjectStoreError {
            throw error
        } catch {
            throw ObjectStoreError.unavailable(String(describing: error))
        }
    }

    /// A 2xx passes; anything else becomes `refused` with S3's error code and message.
    func expect(_ response: HTTPResponse, key: ObjectKey?) throws {
        guard !(200..<300).contains(response.status) else { return }
        let error = XMLNode.parse(response.body)
        let code = error?.value("Code") ?? "HTTP\(response.status)"
        let message = error?.value("Message") ?? "no message"
        if response.status == 404 && code == "NoSuchKey", let key { throw ObjectStoreError.notFound(key: key.rawValue) }
        if response.status >= 500 { throw ObjectStoreError.unavailable("\(response.status) \(code): \(message)") }
        throw ObjectStoreError.refused(status: response.status, code: code, message: message)
    }
}

extension FileDigest {
    /// The SHA-256 of the part of a file an upload sends; a file that cannot be read is the
    /// store's I/O error, like every other local failure of a store.
    static func sha256(_ region: FileRegion) throws -> String {
        do { return try sha256(path: region.path, offset: region.offset, length: region.length) } catch let failure as Failure {
            throw ObjectStoreError.io(failure.description)
        }
    }

    static func uploadSize(_ path: String) throws -> Int64 {
        do { return try size(path) } catch let failure as Failure { throw ObjectStoreError.io(failure.description) }
    }
}

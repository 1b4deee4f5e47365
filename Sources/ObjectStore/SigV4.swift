import CryptoPrimitives
import Essentials
import Foundation
import HTTPTransport

/// Credentials for AWS Signature Version 4. `sessionToken` is set for temporary credentials
/// (STS); it is sent as `x-amz-security-token` and signed.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 as pure functions of (request, credentials, date): no clock, no I/O,
/// so the published test vectors run as unit tests byte for byte.
///
/// The S3 flavour: the path is encoded once per segment and never normalized (`//`, `.`
/// and `..` are kept), as S3 requires; other services double-encode, which this project
/// never needs (soto-core `Sources/SotoSignerV4/signer.swift` makes the same split). Spec: the S3 API
/// reference, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html and
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html; test vectors from the
/// AWS SigV4 test suite, awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/` (its `*-unnormalized`
/// cases follow S3's no-normalization rule).
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// What gets signed. `path` is the raw (not yet percent-encoded) path, `/`-separated;
    /// query items are raw too (a nil value is a valueless parameter like `?uploads`).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String?)]
        /// Every header to sign, including `host`; names in any case.
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String?)] = [],
                    headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    static let algorithm = "AWS4-HMAC-SHA256"

    // MARK: Header authorization

    /// The value of the `Authorization` header for `request`, whose headers must already hold
    /// `x-amz-date` (= `date`) and whatever else is signed.
    public func authorization(_ request: Request, date: Date) -> String {
        let signed = SigV4Signer.signedHeaderNames(request.headers)
        let signature = self.signature(canonicalRequest: canonicalRequest(request), date: date)
        return "\(SigV4Signer.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date)), SignedHeaders=\(signed), Signature=\(signature)"
    }

    /// Adds `x-amz-date`, the session token if any, and `Authorization` to a request's headers:
    /// the headers to send.
    public func signedHeaders(_ request: Request, date: Date) -> [(name: String, value: String)] {
        var request = request
        request.headers.append(("x-amz-date", SigV4Signer.timestamp(date)))
        if let token = credentials.sessionToken { request.headers.append(("x-amz-security-token", token)) }
        return request.headers + [("Authorization", authorization(request, date: date))]
    }

    // MARK: Presigned URLs

    /// The query string (already encoded) of a presigned URL for `request`: its own query
    /// items plus the `X-Amz-*` ones, ending with `X-Amz-Signature`. Only `host` is signed and
    /// the payload is `UNSIGNED-PAYLOAD`, as browsers fetch these URLs.
    public func presignedQuery(method: String, host: String, path: String, query: [(name: String, value: String?)] = [],
                               expires: Int, date: Date) -> String {
        var items = query
        items.append(("X-Amz-Algorithm", SigV4Signer.algorithm))
        items.append(("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(date))"))
        items.append(("X-Amz-Date", SigV4Signer.timestamp(date)))
        items.append(("X-Amz-Expires", String(min(max(1, expires), 604_800))))
        if let token = credentials.sessionToken { items.append(("X-Amz-Security-Token", token)) }
        items.append(("X-Amz-SignedHeaders", "host"))
        let request = Request(method: method, path: path, query: items, headers: [("host", host)],
                              payloadHash: SigV4Signer.unsignedPayload)
        let signature = self.signature(canonicalRequest: canonicalRequest(request), date: date)
        return SigV4Signer.canonicalQuery(items) + "&X-Amz-Signature=" + signature
    }

    // MARK: The steps, public so tests can compare each one

    public func canonicalRequest(_ request: Request) -> String {
        let headers = SigV4Signer.canonicalHeaders(request.headers)
        return [
            request.method,
            SigV4Signer.encodePath(request.path),
            SigV4Signer.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [SigV4Signer.algorithm, SigV4Signer.timestamp(date), scope(date), SHA256.hash(canonicalRequest).hexString]
            .joined(separator: "\n")
    }

    /// kSigning: derived from the secret for one day, region and service.
    public func signingKey(date: Date) -> [UInt8] {
        var key = HMACSHA256.authenticate(SigV4Signer.day(date), key: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [region, service, "aws4_request"] { key = HMACSHA256.authenticate(part, key: key) }
        return key
    }

    public func signature(canonicalRequest: String, date: Date) -> String {
        HMACSHA256.authenticate(stringToSign(canonicalRequest: canonicalRequest, date: date), key: signingKey(date: date)).hexString
    }

    public func scope(_ date: Date) -> String { "\(SigV4Signer.day(date))/\(region)/\(service)/aws4_request" }

    // MARK: Encoding rules (UriEncode itself is `PercentEncoding.encode`)

    static func encodePath(_ path: String) -> String {
        path.isEmpty ? "/" : PercentEncoding.encode(path, keepSlash: true)
    }

    /// Sorted by encoded name, then encoded value; a valueless parameter is `name=`.
    public static func canonicalQuery(_ items: [(name: String, value: String?)]) -> String {
        let encoded: [(name: String, value: String)] = items.map {
            (PercentEncoding.encode($0.name), PercentEncoding.encode($0.value ?? ""))
        }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { item in item.name + "=" + item.value }.joined(separator: "&")
    }

    /// Lower-case names, sorted; values trimmed with inner runs of spaces collapsed; a header
    /// given twice becomes one, its values joined by commas in the order given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed)
        }
        return merged.keys.sorted().map { ($0, merged[$0]!.joined(separator: ",")) }
    }

    static func signedHeaderNames(_ headers: [(name: String, value: String)]) -> String {
        canonicalHeaders(headers).map(\.name).joined(separator: ";")
    }

    /// `20150830T123600Z`: the request time, in UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        let t = utc(date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    }

    /// `20150830`: the day of the credential scope.
    static func day(_ date: Date) -> String {
        let t = utc(date)
        return String(format: "%04d%02d%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday)
    }

    private static func utc(_ date: Date) -> tm {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var result = tm()
        gmtime_r(&seconds, &result)
        return result
    }
}

import Foundation

/// Where the bucket is and how to talk to it. Stored in LMDB as JSON; the secret key is not
/// part of it (it lives in the vault).
public struct S3Configuration: Codable, Sendable, Equatable {
    public enum Addressing: String, Codable, Sendable, CaseIterable {
        /// `https://endpoint/bucket/key`: MinIO, moto, most self-hosted servers.
        case path
        /// `https://bucket.endpoint/key`: AWS's default.
        case virtualHost = "virtual-host"
    }

    /// Scheme, host and optional port: `https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:9000`.
    public var endpoint: String
    public var region: String
    public var bucket: String
    public var addressing: Addressing
    public var accessKeyID: String
    /// Objects up to this size go up in one PUT; larger ones in parts.
    public var multipartThreshold: Int64 = 16 << 20
    /// S3 accepts 5 MiB to 5 GiB per part (except the last) and at most 10,000 parts.
    public var partSize: Int64 = 8 << 20
    /// Parts in flight at once.
    public var concurrency = 4
    /// Seconds for one request (one part) before it counts as failed and is retried.
    public var requestTimeout: TimeInterval = 120

    public init(endpoint: String, region: String, bucket: String, addressing: Addressing, accessKeyID: String) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.addressing = addressing
        self.accessKeyID = accessKeyID
    }

    var endpointIsValid: Bool {
        guard let url = URL(string: endpoint), let scheme = url.scheme, url.host != nil else { return false }
        return ["http", "https"].contains(scheme) && (url.path.isEmpty || url.path == "/") && url.query == nil
    }

    /// What can be wrong with a configuration: named, so that a page can say it in its
    /// reader's language; `description` is the English.
    public enum Problem: String, CaseIterable, Sendable, CustomStringConvertible {
        case endpoint, region, bucket, dottedBucket, accessKeyID, partSize

        public var description: String {
            switch self {
            case .endpoint: "The endpoint must look like https://s3.eu-central-1.amazonaws.com (scheme, host, optional port)."
            case .region: "The region must be like us-east-1."
            case .bucket: "The bucket name must be 3 to 63 characters of a-z, 0-9, '.' and '-'."
            case .dottedBucket: "A bucket with dots breaks TLS with virtual-host addressing; use path addressing."
            case .accessKeyID: "The access key id is required."
            case .partSize: "Parts must be at least 5 MiB."
            }
        }
    }

    /// What is wrong with it; empty when it is usable.
    public var problems: [Problem] {
        var problems: [Problem] = []
        if !endpointIsValid { problems.append(.endpoint) }
        if region.isEmpty || region.contains(where: { !($0.isLetter || $0.isNumber || $0 == "-") }) { problems.append(.region) }
        // S3's bucket naming rules, the common part: 3-63 of a-z 0-9 . -, starting and ending alphanumeric.
        let allowed = bucket.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
        if bucket.count < 3 || bucket.count > 63 || !allowed || bucket.first == "-" || bucket.last == "-" || bucket.first == "." {
            problems.append(.bucket)
        }
        if addressing == .virtualHost && bucket.contains(".") && endpoint.hasPrefix("https") { problems.append(.dottedBucket) }
        if accessKeyID.isEmpty { problems.append(.accessKeyID) }
        if partSize < 5 << 20 { problems.append(.partSize) }
        return problems
    }
}

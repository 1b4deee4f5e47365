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

    /// What is wrong with it, for the Setup form; empty when it is usable.
    public var problems: [String] {
        var problems: [String] = []
        if !endpointIsValid {
            problems.append("The endpoint must look like https://s3.eu-central-1.amazonaws.com (scheme, host, optional port).")
        }
        if region.isEmpty || region.contains(where: { !($0.isLetter || $0.isNumber || $0 == "-") }) {
            problems.append("The region must be like us-east-1.")
        }
        // S3's bucket naming rules, the common part: 3-63 of a-z 0-9 . -, starting and ending alphanumeric.
        let allowed = bucket.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
        if bucket.count < 3 || bucket.count > 63 || !allowed || bucket.first == "-" || bucket.last == "-" || bucket.first == "." {
            problems.append("The bucket name must be 3 to 63 characters of a-z, 0-9, '.' and '-'.")
        }
        if addressing == .virtualHost && bucket.contains(".") && endpoint.hasPrefix("https") {
            problems.append("A bucket with dots breaks TLS with virtual-host addressing; use path addressing.")
        }
        if accessKeyID.isEmpty { problems.append("The access key id is required.") }
        if partSize < 5 << 20 { problems.append("Parts must be at least 5 MiB.") }
        return problems
    }
}

import Essentials
import Foundation
import Logging
import Metrics

/// Bytes of a file to send as a request body, streamed from disk.
public struct FileRegion: Sendable, Equatable {
    public var path: String
    public var offset: Int64
    public var length: Int64

    public init(path: String, offset: Int64 = 0, length: Int64) {
        self.path = path
        self.offset = offset
        self.length = length
    }
}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    /// A body streamed from a file (instead of `body`). Re-read on every retry.
    public var upload: FileRegion?
    /// Error statuses that are an answer here, not a failure (a HEAD's 404 says "no such
    /// object"): returned like any other, and not logged as a failed request.
    public var expectedStatuses: Set<Int>
    /// Where it may go and what it may bring back (see `OutboundPolicy`).
    public var policy: OutboundPolicy

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                upload: FileRegion? = nil, expectedStatuses: Set<Int> = [], policy: OutboundPolicy = OutboundPolicy()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.upload = upload
        self.expectedStatuses = expectedStatuses
        self.policy = policy
    }

    /// The path without the query: what logs may show (queries can carry keys). Still
    /// percent-encoded, never decoded: an id from outside in the path (`a%0D%0AX-Forged: 1`)
    /// must not become a line of its own in the log.
    var loggablePath: String {
        guard let components = URLComponents(string: url) else { return "?" }
        let path = components.percentEncodedPath
        return path.isEmpty ? "/" : String(path.prefix(256))
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Lower-cased names.
    public var headers: [String: String]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Failures of the transport or of the remote side that the retries could not mend.
public enum UpstreamError: Error, CustomStringConvertible, Equatable, Codable {
    case timeout(service: String)
    case unreachable(service: String, reason: String)
    /// The last answer was still a 429 or 5xx after every attempt.
    case gaveUp(service: String, status: Int, attempts: Int)
    /// The policy forbade it: an origin or address not allowed, a redirect to one. Nothing
    /// was sent there; trying again will not change that.
    case refused(service: String, reason: String)
    /// The body was larger than the policy allows.
    case tooLarge(service: String, limitBytes: Int64)

    public var description: String {
        switch self {
        case let .timeout(service): "\(service) did not answer in time"
        case let .unreachable(service, reason): "\(service) is unreachable (\(reason))"
        case let .gaveUp(service, status, attempts): "\(service) answered \(status) \(attempts) times; giving up for now"
        case let .refused(service, reason): "not fetched from \(service): \(reason)"
        case let .tooLarge(service, limit): "\(service) sent more than the \(limit / 1_048_576) MiB limit"
        }
    }

    /// Whether trying again later can help.
    public var isPermanent: Bool {
        switch self {
        case .refused, .tooLarge: true
        default: false
        }
    }
}

/// When to try again, and how long to wait.
public struct RetryPolicy: Sendable {
    public var maxAttempts = 4
    public var baseDelay: TimeInterval = 0.5
    public var maxDelay: TimeInterval = 30

    public init(maxAttempts: Int = 4, baseDelay: TimeInterval = 0.5, maxDelay: TimeInterval = 30) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    static func isRetryable(status: Int) -> Bool { status == 429 || status == 408 || status >= 500 }

    /// Exponential backoff with "full jitter" between half and all of the step, unless the
    /// server said how long (Retry-After as seconds or as an HTTP date).
    func delay(attempt: Int, retryAfter: String?, now: Date = Date()) -> TimeInterval {
        if let retryAfter = retryAfter?.trimmingCharacters(in: .whitespaces) {
            if let seconds = Double(retryAfter) { return min(max(0, seconds), maxDelay) }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            if let date = formatter.date(from: retryAfter) { return min(max(0, date.timeIntervalSince(now)), maxDelay) }
        }
        return Backoff(base: baseDelay, limit: maxDelay).delay(attempt: attempt)
    }
}

/// The HTTP client of every upstream (Voximplant, ElevenLabs, S3): libcurl with TLS
/// verification, timeouts, connection reuse, retries with backoff, and a rate limiter.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Names the upstream in logs and errors ("voximplant", "elevenlabs").
        public var service: String
        public var connectTimeout: TimeInterval = 5
        public var totalTimeout: TimeInterval = 30
        public var retry = RetryPolicy()
        /// Requests per second per limiter key, with this burst.
        public var ratePerSecond: Double = 10
        public var burst: Double = 10

        public init(service: String) { self.service = service }
    }

    public let configuration: Configuration
    let pool = CurlPool()
    let limiter: RateLimiter
    let logger: Logger
    let sleep: @Sendable (TimeInterval) -> Void

    public init(configuration: Configuration, logger: Logger,
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        self.configuration = configuration
        self.limiter = RateLimiter(ratePerSecond: configuration.ratePerSecond, burst: configuration.burst)
        self.logger = logger
        self.sleep = sleep
    }

    /// Sends with retries. A 4xx other than 408/429 is returned, not thrown: the API clients
    /// read its error body.
    public func send(_ request: HTTPRequest, limiterKey: String = "") throws -> HTTPResponse {
        try withRetries(request, limiterKey: limiterKey) { handle in
            var body: [UInt8] = []
            let outcome = try handle.perform(try options(request)) { body += $0 }
            return (HTTPResponse(status: outcome.status, headers: outcome.headers, body: body), outcome.headers["retry-after"])
        }
    }

    /// Streams a successful (2xx) response body into `path` (constant memory, created 0600)
    /// and returns the response with an empty body. Other statuses return their (small) body.
    /// With `request.policy.followRedirects`, each redirect hop is checked like the first URL,
    /// and request headers go only to the first URL.
    public func download(_ request: HTTPRequest, to path: String, limiterKey: String = "") throws -> HTTPResponse {
        try withRetries(request, limiterKey: limiterKey) { handle in
            var hop = request
            for _ in 0...HTTPClient.maxRedirects {
                let (response, retryAfter) = try downloadOnce(hop, to: path, handle: handle)
                guard request.policy.followRedirects, [301, 302, 303, 307, 308].contains(response.status),
                      let location = response.headers["location"] else { return (response, retryAfter) }
                guard let next = URL(string: location, relativeTo: URL(string: hop.url))?.absoluteURL else {
                    throw CurlHandle.TransferError.other("a redirect to “\(location.prefix(100))”, which is not a URL")
                }
                // Whatever the request carried was for the first URL only.
                hop.headers = []
                hop.url = next.absoluteString
            }
            throw CurlHandle.TransferError.other("more than \(HTTPClient.maxRedirects) redirects")
        }
    }

    static let maxRedirects = 5

    private func downloadOnce(_ request: HTTPRequest, to path: String, handle: CurlHandle) throws -> (HTTPResponse, String?) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CurlHandle.TransferError.other("cannot create \(path): \(String(cString: strerror(errno)))") }
        let file = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)  // closed below, once
        defer { try? file.close() }
        // The first 64 KiB are also kept in memory: if the status turns out not to be 2xx,
        // that is the error body the caller reads.
        var errorBody: [UInt8] = []
        let outcome = try handle.perform(try options(request)) { chunk in
            if errorBody.count < 64 * 1024 { errorBody += chunk }
            try file.write(contentsOf: chunk)
        }
        if (200..<300).contains(outcome.status) { errorBody = [] } else { try? FileManager.default.removeItem(atPath: path) }
        return (HTTPResponse(status: outcome.status, headers: outcome.headers, body: errorBody), outcome.headers["retry-after"])
    }

    /// The transfer's options, after the policy has passed its URL.
    private func options(_ request: HTTPRequest) throws -> CurlHandle.Options {
        var url = request.url
        if request.policy.allowed != nil {
            do { url = try request.policy.resolve(request.url).absoluteString } catch {
                throw UpstreamError.refused(service: configuration.service, reason: error.description)
            }
        }
        return CurlHandle.Options(method: request.method, url: url, headers: request.headers, body: request.body,
                                  upload: request.upload, connectTimeout: configuration.connectTimeout,
                                  totalTimeout: configuration.totalTimeout, policy: request.policy)
    }

    private func withRetries(
        _ request: HTTPRequest, limiterKey: String, _ attempt: (CurlHandle) throws -> (HTTPResponse, String?)
    ) throws -> HTTPResponse {
        let service = configuration.service
        var number = 0
        while true {
            number += 1
            limiter.acquire(key: limiterKey, sleep: sleep)
            let started = Date()
            var retryAfter: String?
            var failure: UpstreamError
            do {
                let (response, after) = try pool.with(attempt)
                guard RetryPolicy.isRetryable(status: response.status) else {
                    if response.status >= 400 && !request.expectedStatuses.contains(response.status) {
                        log(request, status: response.status, attempt: number, started: started)
                    }
                    return response
                }
                retryAfter = after
                failure = .gaveUp(service: service, status: response.status, attempts: number)
                log(request, status: response.status, attempt: number, started: started)
            } catch let error as CurlHandle.TransferError {
                switch error {
                case .timeout: failure = .timeout(service: service)
                case let .connection(reason), let .other(reason): failure = .unreachable(service: service, reason: reason)
                case .refusedAddress: failure = .refused(service: service, reason: error.description)
                case let .tooLarge(limit): failure = .tooLarge(service: service, limitBytes: limit)
                }
                log(request, status: nil, attempt: number, started: started, error: error.description)
                if failure.isPermanent { throw failure }
            } catch let error as UpstreamError where error.isPermanent {
                log(request, status: nil, attempt: number, started: started, error: error.description)
                throw error
            }
            guard number < configuration.retry.maxAttempts else { throw failure }
            sleep(configuration.retry.delay(attempt: number, retryAfter: retryAfter))
        }
    }

    private func log(_ request: HTTPRequest, status: Int?, attempt: Int, started: Date, error: String? = nil) {
        var metadata: Logger.Metadata = [
            "service": .string(configuration.service), "method": .string(request.method), "path": .string(request.loggablePath),
            "attempt": .stringConvertible(attempt),
            "duration_ms": .string(String(format: "%.1f", Date().timeIntervalSince(started) * 1000)),
        ]
        if let status { metadata["status"] = .stringConvertible(status) }
        // Transfer errors can quote the remote side (a redirect's Location).
        if let error { metadata["error"] = .string(LogText.escape(error, limit: 512)) }
        logger.warning("upstream request failed", metadata: metadata)
        Counter(label: MetricName.upstreamErrors,
                dimensions: [("service", configuration.service), ("status", status.map(String.init) ?? "transport")]).increment()
    }
}

/// A token bucket per key (an upstream account), so that a sync of one account never trips
/// the provider's limits, and one busy account does not slow another.
final class RateLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var buckets: [String: (tokens: Double, updated: Date)] = [:]
    let ratePerSecond: Double
    let burst: Double

    init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
    }

    /// Takes a token, sleeping until one is available.
    func acquire(key: String, sleep: (TimeInterval) -> Void) {
        while true {
            lock.lock()
            let now = Date()
            var bucket = buckets[key] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + now.timeIntervalSince(bucket.updated) * ratePerSecond)
            bucket.updated = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                lock.unlock()
                return
            }
            buckets[key] = bucket
            let wait = (1 - bucket.tokens) / ratePerSecond
            lock.unlock()
            sleep(wait)
        }
    }
}

import CryptoPrimitives
import FastCGI
import Foundation
import KVStore
import Logging
import VoxCore

/// The services every handler may use, built once at start.
public struct Services: Sendable {
    public let database: Database
    public let users: Users
    public let sessions: Sessions
    public let throttle: LoginThrottle
    public let calls: CallQueries
    public let callStore: CallStore
    public let statistics: StatisticsQueries
    public let upstreams: Upstreams
    public let jobs: JobQueue
    public let backfillDays: Double
    /// Wakes the job runner after a commit that enqueued work (no-op until one is attached).
    public let jobWaker = JobWaker()
    public let webhookSecrets = WebhookSecretCache()
    /// One CSV export per user at a time.
    public let exports = ExclusiveSlots()
    /// Where this server is reached from outside (for webhook URLs in scenarios).
    public let publicURL: String
    public let csrf: CSRF
    public let vault: Vault
    public let templates: Templates
    public let clock: any Clock
    /// Where recordings are archived (local disk, S3).
    public let recordings: RecordingStores
    /// Downloads in progress: the local store's own temporary folder, so that one clean-up at
    /// start serves both.
    public var temporaryDirectory: String { recordings.local.temporaryDirectory }

    /// `storageDirectory` holds `recordings/`: the local object store and its `tmp/`.
    public init(
        database: Database, keyring: Keyring, templates: Templates, storageDirectory: String,
        sessionLifetime: TimeInterval = 12 * 3600, s3Timeout: TimeInterval = 120,
        hasher: PasswordHasher = .standard, clock: any Clock = SystemClock(),
        upstreams: Upstreams = Upstreams(voximplantURL: "https://api.voximplant.com/platform_api",
                                         elevenLabsURL: "https://api.elevenlabs.io"),
        publicURL: String = "http://127.0.0.1:8080", jobLease: TimeInterval = 300, backfillDays: Double = 30
    ) throws {
        self.database = database
        self.users = Users(database: database, hasher: hasher, clock: clock)
        self.sessions = Sessions(database: database, lifetime: sessionLifetime, clock: clock)
        self.throttle = LoginThrottle(database: database, clock: clock)
        self.calls = CallQueries(database: database)
        self.callStore = CallStore(database: database)
        self.statistics = StatisticsQueries(database: database)
        self.upstreams = upstreams
        var jobs = JobQueue(database: database, clock: clock)
        jobs.lease = jobLease
        self.jobs = jobs
        self.backfillDays = backfillDays
        self.publicURL = publicURL
        self.csrf = CSRF(key: keyring.derive("csrf"))
        self.vault = Vault(keyring: keyring)
        self.templates = templates
        self.clock = clock
        self.recordings = try RecordingStores(root: storageDirectory + "/recordings", database: database, vault: vault,
                                              s3Timeout: s3Timeout)
    }
}

/// Turns a request into a response: route, session, access, CSRF, handler, errors, log line.
/// Every request goes through `handle`, so these rules have one home.
public final class App: Sendable {
    public static let sessionCookie = "vox_session"
    public static let preSessionCookie = "vox_pre"

    /// Letters, digits and `-`: what nginx's $request_id (hex) and common tracing ids use.
    static func isRequestIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
    }

    public let services: Services
    let router: Router
    let logger: Logger

    public init(services: Services, logger: Logger = Logger(label: "voxfcgi")) {
        self.services = services
        self.logger = logger
        var router = Router()
        Routes.register(in: &router, services: services)
        self.router = router
    }

    /// The largest body the worker reads for `path`, decided from the path alone before any
    /// of the body is read (the FastCGI server answers 413 above it). One rule, here:
    /// webhooks are small JSON; an ElevenLabs key's own URL takes `post_call_audio`; every
    /// other path is a form of at most `formLimit`.
    public func maxBodySize(forPath path: String, formLimit: Int) -> Int {
        if path == "/api/webhook/voximplant" { return WebhookEndpoints.maxBody }
        if let limit = ElevenLabsWebhook.bodyLimit(path: path, database: services.database) { return limit }
        if path.hasPrefix("/api/webhook/") { return ElevenLabsWebhook.smallBody }
        return formLimit
    }

    public func handle(_ request: Request) -> Response {
        let started = DispatchTime.now()
        // nginx's $request_id (hex); anything else a client may have sent is replaced.
        let requestID = request.headers["x-request-id"].flatMap { id in
            (1...64).contains(id.utf8.count) && id.utf8.allSatisfy(App.isRequestIDByte) ? id : nil
        } ?? Random.bytes(8).hexString
        let logger = self.logger
        let method = request.method, path = request.path
        // A later response (a webhook's, after its commit) gets its header and its log line
        // when it comes, so the duration covers the wait.
        return respond(to: request, requestID: requestID).amended { response in
            response.addHeader("X-Request-Id", requestID)
            guard logger.logLevel <= .info else { return }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000
            // The path only: query strings can carry things that do not belong in a log.
            logger.forRequest(requestID).info("request", metadata: [
                "method": .string(LogText.escape(method, limit: 16)), "path": .string(LogText.escape(path)),
                "status": .stringConvertible(response.status.rawValue),
                "duration_ms": .string(String(format: "%.2f", elapsed)),
            ])
        }
    }

    private func respond(to request: Request, requestID: String) -> Response {
        let wantsJSON = request.path.hasPrefix("/api/")
        var context = RequestContext(requestID: requestID, logger: logger)
        do {
            let match = router.match(method: request.method, path: request.path)
            guard case let .found(access, handler, parameters) = match else {
                if case let .methodNotAllowed(allowed) = match {
                    var error = HTTPError(.methodNotAllowed, "method \(request.method) is not allowed here")
                    error.headers = [("Allow", allowed.joined(separator: ", "))]
                    throw error
                }
                throw HTTPError(.notFound, "there is no page at this address")
            }
            context.parameters = parameters
            if access != .webhook {
                try authenticate(request, access: access, into: &context)
            }
            let extraHeaders = context.extraHeaders
            return try handler(request, context).amended { response in
                response.headers += extraHeaders
                if access != .webhook && access != .public {
                    // Pages of a signed-in user are private: never cached by a proxy or the back button.
                    response.addHeader("Cache-Control", "no-store")
                }
            }
        } catch let error as HTTPError {
            var response = wantsJSON ? App.json(error) : Pages.error(error, context: context, services: services)
            response.headers += error.headers + context.extraHeaders
            return response
        } catch {
            let failure = App.unexpected(error, requestID: requestID, logger: context.logger)
            return wantsJSON ? App.json(failure) : Pages.error(failure, context: context, services: services)
        }
    }

    /// An `/api/` error as JSON: an `HTTPError` says what was wrong; anything else is a 500
    /// (see `unexpected`).
    static func apiError(_ error: Error, requestID: String, logger: Logger) -> Response {
        let failure = (error as? HTTPError) ?? unexpected(error, requestID: requestID, logger: logger)
        var response = json(failure)
        response.headers += failure.headers
        return response
    }

    private static func json(_ error: HTTPError) -> Response {
        .json(["error": error.message], status: error.status)
    }

    /// An error nobody expected: logged, and answered 500 naming the request, so that the log
    /// line can be found without the client seeing what went wrong.
    private static func unexpected(_ error: Error, requestID: String, logger: Logger) -> HTTPError {
        if let error = error as? KVStoreError, case .mapCeiling = error {
            // Not a bug: the operator's ceiling. Say so, to the client and loudly in the log.
            logger.critical("write refused", metadata: ["error": .string(error.description)])
            var failure = HTTPError(.serviceUnavailable, error.description)
            failure.headers = [("Retry-After", "60")]
            return failure
        }
        logger.error("unhandled error", metadata: ["error": .string(LogText.escape(String(describing: error), limit: 1024))])
        return HTTPError(.internalServerError, "something went wrong on our side (request \(requestID))")
    }

    /// Resolves the session, enforces `access`, sets the CSRF token and checks it on writes.
    private func authenticate(_ request: Request, access: Access, into context: inout RequestContext) throws {
        let sessionToken = request.cookies[App.sessionCookie]
        if let token = sessionToken, let (_, user) = try services.sessions.resolve(token: token) {
            context.user = user
        } else if sessionToken != nil {
            // A stale cookie: clear it so the browser stops sending it.
            context.extraHeaders.append(("Set-Cookie", Cookie(name: App.sessionCookie, value: "", maxAge: 0,
                                                               secure: request.isHTTPS).headerValue))
        }

        let binding: [UInt8]
        if context.user != nil, let token = sessionToken {
            binding = Sessions.key(token)
        } else if let pre = request.cookies[App.preSessionCookie], pre.count == 43 {
            binding = Array(("pre:" + pre).utf8)
        } else {
            let pre = Random.bytes(32).base64URLString
            context.extraHeaders.append(("Set-Cookie", Cookie(name: App.preSessionCookie, value: pre,
                                                               secure: request.isHTTPS).headerValue))
            binding = Array(("pre:" + pre).utf8)
        }
        context.csrfToken = services.csrf.token(binding: binding)

        switch access {
        case .signedIn, .admin:
            guard let user = context.user else {
                if request.method == "GET" {
                    let next = request.path == "/" ? "" : "?next=" + (Parameters([("n", request.path)]).urlEncoded.dropFirst(2))
                    throw HTTPError.redirect(to: "/login" + next)
                }
                throw HTTPError(.unauthorized, "your session has ended; sign in again")
            }
            if access == .admin && !user.isAdmin { throw HTTPError(.forbidden, "only an admin may do this") }
        case .public, .webhook:
            break
        }

        if !["GET", "HEAD", "OPTIONS"].contains(request.method) {
            let submitted = request.headers[CSRF.header] ?? (try? request.form())?[CSRF.formField]
            guard services.csrf.isValid(submitted, binding: binding) else {
                throw HTTPError(.forbidden, "this form has expired or came from another site; reload the page and try again")
            }
        }
    }
}

extension HTTPError {
    /// A redirect raised from deep in the pipeline (sign-in required).
    static func redirect(to location: String) -> HTTPError {
        var error = HTTPError(.seeOther, "see \(location)")
        error.headers = [("Location", location)]
        return error
    }
}

/// A late-bound link to the job runner: services are built before the runner, which needs them.
public final class JobWaker: @unchecked Sendable {
    private let lock = NSLock()
    private var runner: JobRunner?

    public init() {}

    public func attach(_ runner: JobRunner) {
        lock.lock()
        self.runner = runner
        lock.unlock()
    }

    public func wake() {
        lock.lock()
        let runner = self.runner
        lock.unlock()
        runner?.wake()
    }
}

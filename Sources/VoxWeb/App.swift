import Essentials
import CryptoPrimitives
import FastCGI
import Foundation
import KVStore
import Logging
import Metrics
import VoxCore
import VoxServices

/// What a page is given: the application's services (read through as `site.calls`,
/// `site.setup`, …) and the web layer's own parts, which no service sees.
@dynamicMemberLookup
public struct Site: Sendable {
    public let services: ApplicationServices
    let templates: Templates
    let csrf: CSRF
    /// One CSV export per user at a time.
    let exports = ExclusiveSlots()
    /// `/metrics` through nginx, when a token is set (see `MetricsRoute`).
    let metrics: MetricsExposition?

    public init(services: ApplicationServices, templates: Templates, csrf: CSRF, metrics: MetricsExposition? = nil) {
        self.services = services
        self.templates = templates
        self.csrf = csrf
        self.metrics = metrics
    }

    public subscript<T>(dynamicMember path: KeyPath<ApplicationServices, T>) -> T { services[keyPath: path] }
}

/// Turns a request into a response: route, session, access, CSRF, handler, errors, log line.
/// Every request goes through `handle`, so these rules have one home.
public final class App: Sendable {
    public static let sessionCookie = "vox_session"
    public static let preSessionCookie = "vox_pre"
    /// Between a right password and the two-factor code (see `TwoFactor.beginSignIn`).
    public static let pendingSignInCookie = "vox_2fa"
    /// What an admin who must enrol in two-factor sign-in may still reach.
    static let enrolmentPaths: Set<String> = ["/profile", "/profile/2fa/start", "/profile/2fa/confirm", "/logout"]

    /// Letters, digits and `-`: what nginx's $request_id (hex) and common tracing ids use.
    static func isRequestIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
    }

    public let site: Site
    let router: Router
    let logger: Logger

    public init(site: Site, logger: Logger) {
        self.site = site
        self.logger = logger
        var router = Router()
        Routes.register(in: &router, site: site)
        self.router = router
    }

    /// The largest body the worker reads for `path`, decided from the path alone before any
    /// of the body is read (the FastCGI server answers 413 above it). One rule, here:
    /// webhooks are small JSON; an ElevenLabs key's own URL takes `post_call_audio`; every
    /// other path is a form of at most `formLimit`.
    public func maxBodySize(forPath path: String, formLimit: Int) -> Int {
        if path == "/api/webhook/voximplant" { return WebhookEndpoints.maxBody }
        if let limit = ElevenLabsWebhook.bodyLimit(path: path, webhooks: site.elevenLabsWebhooks) { return limit }
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
        var route = "unmatched"
        return respond(to: request, requestID: requestID, route: &route).amended { [route] response in
            response.addHeader("X-Request-Id", requestID)
            let nanoseconds = DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds
            // Labels from our own route table and status codes only: nothing a client typed.
            let verb = ["GET", "POST", "HEAD"].contains(method) ? method : "other"
            MetricHandles.shared.counter(MetricName.httpRequests,
                                         [("route", route), ("method", verb), ("status", String(response.status.rawValue))]).increment()
            MetricHandles.shared.timer(MetricName.httpDuration, [("route", route)]).recordNanoseconds(Int64(nanoseconds))
            guard logger.logLevel <= .info else { return }
            let elapsed = Double(nanoseconds) / 1_000_000
            // The path only: query strings can carry things that do not belong in a log.
            logger.forRequest(requestID).info("request", metadata: [
                "method": .string(LogText.escape(method, limit: 16)), "path": .string(LogText.escape(path)),
                "status": .stringConvertible(response.status.rawValue),
                "duration_ms": .string(String(format: "%.2f", elapsed)),
            ])
        }
    }

    private func respond(to request: Request, requestID: String, route: inout String) -> Response {
        let wantsJSON = request.path.hasPrefix("/api/")
        var context = RequestContext(requestID: requestID, logger: logger)
        context.catalog = .of(Language.resolve(profile: nil, acceptLanguage: request.headers["accept-language"]))
        do {
            let match = router.match(method: request.method, path: request.path)
            guard case let .found(access, handler, parameters, pattern) = match else {
                if case let .methodNotAllowed(allowed) = match {
                    var error = HTTPError(.methodNotAllowed, context.catalog("error_method_not_allowed", ["method": LogText.escape(request.method, limit: 16)]))
                    error.headers = [("Allow", allowed.joined(separator: ", "))]
                    throw error
                }
                throw HTTPError(.notFound, context.catalog("error_no_page"))
            }
            context.parameters = parameters
            route = pattern
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
        } catch let error as any HTTPResponseError {
            var response = wantsJSON ? App.json(error) : Pages.error(error, context: context, site: site)
            response.headers += error.headers + context.extraHeaders
            return response
        } catch {
            let failure = App.unexpected(error, requestID: requestID, logger: context.logger, catalog: context.catalog)
            return wantsJSON ? App.json(failure) : Pages.error(failure, context: context, site: site)
        }
    }

    /// An `/api/` error as JSON: an `HTTPResponseError` says what was wrong; anything else is
    /// a 500 (see `unexpected`).
    static func apiError(_ error: Error, requestID: String, logger: Logger) -> Response {
        let failure: any HTTPResponseError = (error as? any HTTPResponseError) ?? unexpected(error, requestID: requestID, logger: logger)
        var response = json(failure)
        response.headers += failure.headers
        return response
    }

    private static func json(_ error: any HTTPResponseError) -> Response {
        .json(["error": error.message], status: error.status)
    }

    /// An error nobody expected: logged, and answered 500 naming the request, so that the log
    /// line can be found without the client seeing what went wrong.
    private static func unexpected(_ error: Error, requestID: String, logger: Logger, catalog: Catalog = .english) -> HTTPError {
        if let error = error as? KVStoreError, case .mapCeiling = error {
            // Not a bug: the operator's ceiling. Say so, to the client and loudly in the log.
            logger.critical("write refused", metadata: ["error": .string(error.description)])
            var failure = HTTPError(.serviceUnavailable, error.description)
            failure.headers = [("Retry-After", "60")]
            return failure
        }
        logger.error("unhandled error", metadata: ["error": .string(LogText.escape(String(describing: error), limit: 1024))])
        return HTTPError(.internalServerError, catalog("error_internal", ["request": requestID]))
    }

    /// Resolves the session, enforces `access`, sets the CSRF token and checks it on writes.
    private func authenticate(_ request: Request, access: Access, into context: inout RequestContext) throws {
        let sessionToken = request.cookies[App.sessionCookie]
        if let token = sessionToken, let (_, user) = try site.sessions.resolve(token: token) {
            context.user = user
            context.catalog = .of(Language.resolve(profile: user.language, acceptLanguage: request.headers["accept-language"]))
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
        context.csrfToken = site.csrf.token(binding: binding)

        if access.needsSession {
            guard let user = context.user else {
                if request.method == "GET" {
                    throw HTTPError.redirect(to: LoginPage.path("/login", next: request.path == "/" ? "" : request.path))
                }
                throw HTTPError(.unauthorized, context.catalog("error_session_ended"))
            }
            guard access.permits(user) else { throw HTTPError(.forbidden, context.catalog(access.refusalKey)) }
            // An admin the team requires to use two-factor sign-in enrols before anything else.
            if !App.enrolmentPaths.contains(request.path), try site.twoFactor.mustEnrol(user) {
                if request.method == "GET" { throw HTTPError.redirect(to: "/profile") }
                throw HTTPError(.forbidden, context.catalog("error_must_enrol"))
            }
        }

        if !["GET", "HEAD", "OPTIONS"].contains(request.method) {
            let submitted = request.headers[CSRF.header] ?? (try? request.form())?[CSRF.formField]
            guard site.csrf.isValid(submitted, binding: binding) else {
                throw HTTPError(.forbidden, context.catalog("error_form_expired"))
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

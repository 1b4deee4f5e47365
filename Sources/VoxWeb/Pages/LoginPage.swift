import Essentials
import CryptoPrimitives
import FastCGI
import Foundation
import VoxCore
import VoxServices

enum LoginPage {
    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        if context.user != nil { return .redirect(to: safeNext(request.query["next"])) }
        return form(context, site, email: "", next: request.query["next"] ?? "", error: nil, status: .ok,
                    welcome: request.query["welcome"] == "1")
    }

    static func submit(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let form = try request.form()
        let email = form.text("email") ?? ""
        let password = form["password"] ?? ""
        let next = form["next"] ?? ""
        guard !email.isEmpty, !password.isEmpty else {
            return self.form(context, site, email: email, next: next,
                             error: context.catalog("login_missing"), status: .unprocessableContent)
        }
        // RFC 5321's limit; longer is no one's login, and would not fit the throttle's keys.
        guard email.utf8.count <= 254, password.utf8.count <= 1024 else {
            return self.form(context, site, email: String(email.prefix(254)), next: next,
                             error: context.catalog("login_not_ours"), status: .unprocessableContent)
        }
        switch try site.throttle.reserve(email: email, address: request.remoteAddress) {
        case .allowed:
            break
        case let .slowDown(seconds):
            return self.form(context, site, email: email, next: next,
                             error: context.catalog("login_slow_down", ["seconds": String(seconds)]), status: .tooManyRequests)
        case let .locked(until):
            let minutes = max(1, Int((until.timeIntervalSince(site.clock.now()) / 60).rounded(.up)))
            return self.form(context, site, email: email, next: next,
                             error: context.catalog("login_locked", ["minutes": String(minutes)]), status: .tooManyRequests)
        }
        guard let user = try site.users.verify(email: email, password: password) else {
            // The failure was counted when the attempt was reserved.
            context.logger.notice("login failed", metadata: ["email": .string(LogText.escape(Users.normalize(email: email)))])
            try site.audit.record(.signInFailed, by: AuditActor(userID: nil, email: Users.normalize(email: email), address: request.remoteAddress), "")
            return self.form(context, site, email: email, next: next,
                             error: context.catalog("login_wrong"), status: .unauthorized)
        }
        try site.throttle.succeeded(email: email, address: request.remoteAddress)
        if user.hasTwoFactor {
            // The password was right; the session waits for the code (a cookie of its own, 5 min).
            let pending = try site.twoFactor.beginSignIn(user)
            var response = Response.redirect(to: path("/login/code", next: next))
            response.setCookie(Cookie(name: App.pendingSignInCookie, value: pending, maxAge: Int(TwoFactor.pendingLifetime),
                                      secure: request.isHTTPS))
            return response
        }
        return try signIn(user, request, context, site, next: next)
    }

    /// The session starts: a new token (one fixed before login is never reused), the audit line.
    static func signIn(_ user: User, _ request: Request, _ context: RequestContext, _ site: Site, next: String) throws -> Response {
        if let old = request.cookies[App.sessionCookie] { try site.sessions.end(token: old) }
        let (token, _) = try site.sessions.start(for: user)
        try site.users.recordSignIn(user, address: request.remoteAddress)
        var response = Response.redirect(to: safeNext(next))
        response.setCookie(Cookie(name: App.sessionCookie, value: token,
                                  maxAge: Int(site.sessions.lifetime), secure: request.isHTTPS))
        context.logger.info("login", metadata: ["user_id": .stringConvertible(user.id)])
        return response
    }

    /// The second step: the code from the authenticator app (or a recovery code). The
    /// throttle counts wrong codes as it counts wrong passwords.
    static func showCode(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        guard let token = request.cookies[App.pendingSignInCookie], try site.twoFactor.pendingSignIn(token) != nil else {
            return .redirect(to: "/login")
        }
        return codeForm(context, site, next: request.query["next"] ?? "", error: nil, status: .ok)
    }

    static func submitCode(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let form = try request.form()
        let next = form["next"] ?? ""
        guard let token = request.cookies[App.pendingSignInCookie], let user = try site.twoFactor.pendingSignIn(token) else {
            return .redirect(to: "/login")
        }
        let code = String((form.text("code") ?? "").prefix(32))
        switch try site.throttle.reserve(email: user.email, address: request.remoteAddress) {
        case .allowed:
            break
        case let .slowDown(seconds):
            return codeForm(context, site, next: next, error: context.catalog("code_slow_down", ["seconds": String(seconds)]), status: .tooManyRequests)
        case .locked:
            return codeForm(context, site, next: next, error: context.catalog("code_locked"), status: .tooManyRequests)
        }
        guard try site.twoFactor.verify(user, code: code) else {
            try site.audit.record(.signInFailed, by: AuditActor(user, address: request.remoteAddress), "wrong two-factor code")
            return codeForm(context, site, next: next, error: context.catalog("code_wrong"),
                            status: .unauthorized)
        }
        try site.throttle.succeeded(email: user.email, address: request.remoteAddress)
        try site.twoFactor.endSignIn(token)
        var response = try signIn(user, request, context, site, next: next)
        response.setCookie(Cookie(name: App.pendingSignInCookie, value: "", maxAge: 0, secure: request.isHTTPS))
        return response
    }

    private static func codeForm(_ context: RequestContext, _ site: Site, next: String, error: String?, status: HTTPStatus) -> Response {
        struct Values: Encodable {
            let next: String
            let error: String?
        }
        return Pages.render("login-code", title: context.catalog("login_title"), Values(next: next, error: error), context: context, site: site, status: status)
    }

    static func logout(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        if let token = request.cookies[App.sessionCookie] { try site.sessions.end(token: token) }
        if let user = context.user { try site.audit.record(.signOut, by: AuditActor(user, address: request.remoteAddress), "") }
        var response = Response.redirect(to: "/login")
        response.setCookie(Cookie(name: App.sessionCookie, value: "", maxAge: 0, secure: request.isHTTPS))
        return response
    }

    /// `base`, carrying where to go after signing in (`?next=`, percent-encoded), if anywhere.
    static func path(_ base: String, next: String) -> String {
        next.isEmpty ? base : base + "?next=" + Parameters([("n", next)]).urlEncoded.dropFirst(2)
    }

    /// Only a path of this site: one `/`, then no second `/` or `\` (browsers read `/\` as
    /// `//`), and no control characters or whitespace anywhere (`/%0D%0A/evil.example` became
    /// `Location: //evil.example`; a tab is dropped by URL parsers). Anything else goes to `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), next.utf8.count <= 2048 else { return "/" }
        let bytes = Array(next.utf8)
        if bytes.count > 1 && (bytes[1] == UInt8(ascii: "/") || bytes[1] == UInt8(ascii: "\\")) { return "/" }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\\") }),
              next.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.properties.generalCategory != .control
                  && $0.properties.generalCategory != .format }) else { return "/" }
        return next
    }

    private static func form(
        _ context: RequestContext, _ site: Site, email: String, next: String, error: String?, status: HTTPStatus,
        welcome: Bool = false
    ) -> Response {
        struct Values: Encodable {
            let email: String
            let next: String
            let error: String?
            let welcome: Bool
        }
        return Pages.render("login", title: context.catalog("login_title"), Values(email: email, next: next, error: error, welcome: welcome),
                            context: context, site: site, status: status)
    }
}

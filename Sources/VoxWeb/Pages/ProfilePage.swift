import FastCGI
import Foundation
import QRCode
import VoxCore

/// Profile (everyone): password, time zone, language.
enum ProfilePage {
    struct Values: Encodable {
        let email: String
        let role: String
        let timeZone: String
        let zones: [Pages.Option]
        let languages: [Pages.Option]
        let minimum: Int
        let notice: Pages.Notice?
        let twoFactorOn: Bool
        let recoveryLeft: Int
        let enrolling: Enrolling?
        let recoveryCodes: [String]?
        let showRecovery: Bool
        let mustEnrol: Bool
    }

    /// The enrolment in progress: the QR code (SVG made here) and the secret to type instead.
    struct Enrolling: Encodable {
        let qr: String
        let secret: String
    }

    /// "" (the browser's), then each language of the interface, by catalog key of its name.
    static let languages = [("", "profile_lang_browser")] + Language.allCases.map { ($0.rawValue, "language_name_" + $0.rawValue) }

    static func render(_ context: RequestContext, _ site: Site, status: HTTPStatus = .ok, notice: Pages.Notice? = nil,
                       recoveryCodes: [String]? = nil) throws -> Response {
        let user = try site.users.find(id: try context.requireUser().id) ?? context.requireUser()
        let enrolling = try user.hasTwoFactor ? nil : site.twoFactor.pendingEnrolment(of: user).map { enrolment in
            Enrolling(qr: try QRCode.svg(enrolment.uri), secret: stride(from: 0, to: enrolment.secret.count, by: 4).map { start in
                String(enrolment.secret.dropFirst(start).prefix(4))
            }.joined(separator: " "))
        }
        // Foundation's list leaves out "UTC" (and may leave out a zone set from the command line).
        let names = ["UTC"] + TimeZone.knownTimeZoneIdentifiers.sorted().filter { $0 != "UTC" }
        let zones = (names.contains(user.timeZone) ? names : [user.timeZone] + names)
            .map { Pages.Option(value: $0, label: $0, selected: $0 == user.timeZone) }
        return Pages.render("profile", title: context.catalog("profile_title"), Values(
            email: user.email, role: context.catalog("role_" + user.role.rawValue), timeZone: user.timeZone, zones: zones,
            languages: languages.map { Pages.Option(value: $0.0, label: context.catalog($0.1), selected: $0.0 == (user.language ?? "")) },
            minimum: PasswordPolicy.minimumLength, notice: notice, twoFactorOn: user.hasTwoFactor,
            recoveryLeft: user.recoveryCodeHashes?.count ?? 0, enrolling: enrolling, recoveryCodes: recoveryCodes,
            showRecovery: recoveryCodes != nil, mustEnrol: try site.twoFactor.mustEnrol(user)), context: context, site: site, status: status)
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try render(context, site, notice: request.query["saved"] == "1" ? .ok(context.catalog("notice_saved")) : nil)
    }

    static func changePassword(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let form = try request.form()
        return try Pages.submitting({
            guard form["new"] == form["confirm"] else { throw UserError.weakPassword(context.catalog("passwords_differ")) }
            try site.users.changePassword(of: user, current: form["current"] ?? "", new: form["new"] ?? "",
                                          keeping: request.cookies[App.sessionCookie].map(Sessions.key), address: request.remoteAddress)
            return try render(context, site, notice: .ok(context.catalog("profile_password_changed")))
        }, orShow: { try render(context, site, status: $0.status, notice: .error(context.catalog.message($0))) })
    }

    static func startTwoFactor(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        _ = try site.twoFactor.startEnrolment(of: try context.requireUser())
        return try render(context, site, notice: .ok(context.catalog("tfa_scan")))
    }

    static func confirmTwoFactor(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let code = try request.form().text("code") ?? ""
        do {
            let codes = try site.twoFactor.confirm(user, code: code, by: try Pages.actor(request, context))
            return try render(context, site, notice: .ok(context.catalog("tfa_enabled")),
                              recoveryCodes: codes)
        } catch let error as TwoFactorError {
            return try render(context, site, status: .unprocessableContent, notice: .error(context.catalog.message(error)))
        }
    }

    /// Turning it off asks for the password: a session left open is not enough.
    static func disableTwoFactor(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        guard try site.users.verify(email: user.email, password: try request.form()["current"] ?? "") != nil else {
            return try render(context, site, status: .unprocessableContent, notice: .error(context.catalog("tfa_wrong_password")))
        }
        try site.twoFactor.disable(user, by: try Pages.actor(request, context))
        return try render(context, site, notice: .ok(context.catalog("tfa_disabled")))
    }

    /// The header's switch: remembered on the profile, then back to the page it was clicked on.
    static func switchLanguage(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        guard let language = try request.form().text("language").flatMap(Language.init(rawValue:)) else {
            throw HTTPError(.unprocessableContent, context.catalog("error_language"))
        }
        try site.users.setProfile(of: user, timeZone: user.timeZone, language: language.rawValue, address: request.remoteAddress)
        let back = request.headers["referer"].flatMap(URL.init(string:)).map { $0.path + ($0.query.map { "?" + $0 } ?? "") }
        return .redirect(to: LoginPage.safeNext(back))
    }

    static func saveSettings(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let form = try request.form()
        let language = form.text("language")
        guard language == nil || languages.contains(where: { $0.0 == language }) else {
            throw HTTPError(.unprocessableContent, context.catalog("error_language_or_browser"))
        }
        return try Pages.submitting({
            try site.users.setProfile(of: user, timeZone: form.text("time_zone") ?? "", language: language, address: request.remoteAddress)
            return .redirect(to: "/profile?saved=1")
        }, orShow: { try render(context, site, status: $0.status, notice: .error(context.catalog.message($0))) })
    }
}

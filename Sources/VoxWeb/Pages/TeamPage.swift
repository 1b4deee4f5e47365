import FastCGI
import Foundation
import VoxCore

/// Team (admins): who can sign in, with which role, and the one-time links that let a
/// person choose a password. A link is shown once, here, to pass on; no mail is sent.
enum TeamPage {
    struct Row: Encodable {
        let id: UInt64
        let email: String
        let role: String
        let roles: [Pages.Option]
        let operators: [Pages.Option]
        let isViewer: Bool
        let watching: String
        let timeZone: String
        let language: String
        let lastSignIn: String
        let sessions: Int
        let twoFactor: String
        let active: Bool
        let invited: Bool
        let isYou: Bool
    }

    struct Values: Encodable {
        let rows: [Row]
        let roles: [Pages.Option]
        let operators: [Pages.Option]
        let notice: Pages.Notice?
        let link: String?
        let requireAdminTwoFactor: Bool
    }

    static func render(_ context: RequestContext, _ site: Site, status: HTTPStatus = .ok, notice: Pages.Notice? = nil,
                       link: String? = nil) throws -> Response {
        let admin = try context.requireUser()
        let members = try site.team.members()
        let formatting = Formatting(user: admin, catalog: context.catalog)
        let operators = members.map(\.user).filter { $0.role == .operator }
        func roleOptions(_ selected: Role) -> [Pages.Option] {
            Role.allCases.map { Pages.Option(value: $0.rawValue, label: context.catalog("role_" + $0.rawValue), selected: $0 == selected) }
        }
        func operatorOptions(_ watches: [UInt64]) -> [Pages.Option] {
            operators.map { Pages.Option(value: String($0.id), label: $0.email, selected: watches.contains($0.id)) }
        }
        let emails = Dictionary(members.map { ($0.user.id, $0.user.email) }, uniquingKeysWith: { a, _ in a })
        let rows = members.map { member in
            let user = member.user
            return Row(id: user.id, email: user.email, role: context.catalog("role_" + user.role.rawValue), roles: roleOptions(user.role),
                       operators: operatorOptions(user.watches ?? []), isViewer: user.isViewer,
                       watching: (user.watches ?? []).compactMap { emails[$0] }.joined(separator: ", "),
                       timeZone: user.timeZone, language: user.language.map { context.catalog("language_name_" + $0) } ?? context.catalog("team_browsers"),
                       lastSignIn: user.lastSignInAt.map(formatting.dateTime) ?? context.catalog("team_never"),
                       sessions: member.activeSessions, twoFactor: context.catalog(user.hasTwoFactor ? "team_2fa_on" : "team_2fa_off"), active: !user.isDisabled, invited: !user.hasPassword,
                       isYou: user.id == admin.id)
        }
        return Pages.render("team", title: context.catalog("team_title"), Values(rows: rows, roles: roleOptions(.operator), operators: operatorOptions([]),
                                                        notice: notice, link: link,
                                                        requireAdminTwoFactor: try site.twoFactor.settings().requireAdminTwoFactor),
                            context: context, site: site, status: status, activePath: "/team")
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try render(context, site)
    }

    static func role(in form: Parameters, _ t: Catalog) throws -> Role {
        guard let role = form.text("role").flatMap(Role.init(rawValue:)) else {
            throw HTTPError(.unprocessableContent, t("error_choose_role"))
        }
        return role
    }

    /// Operator ids from the form's checkboxes; anything that is not an id is refused.
    static func watches(in form: Parameters, _ t: Catalog) throws -> [UInt64] {
        try form.all("watches").map { text in
            guard let id = UInt64(text), id > 0 else { throw HTTPError(.unprocessableContent, t("error_not_a_user_id", ["value": String(text.prefix(20))])) }
            return id
        }
    }

    static func link(_ site: Site, _ token: String) -> String {
        site.publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/invite/" + token
    }

    static func invite(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let form = try request.form()
        return try Pages.submitting({
            let (user, token) = try site.team.invite(email: form.text("email") ?? "", role: try role(in: form, context.catalog),
                                                     watches: try watches(in: form, context.catalog), by: try Pages.actor(request, context))
            return try render(context, site, notice: .ok(context.catalog("team_added", ["email": user.email, "role": context.catalog("role_" + user.role.rawValue)])),
                              link: link(site, token))
        }, orShow: { try render(context, site, status: $0.status, notice: .error(context.catalog.message($0))) })
    }

    static func setRole(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let form = try request.form()
        let id = try context.id()
        return try Pages.submitting({
            let role = try role(in: form, context.catalog)
            try site.team.setRole(userID: id, role, watches: role == .viewer ? try watches(in: form, context.catalog) : nil, by: try Pages.actor(request, context))
            return .redirect(to: "/team")
        }, orShow: { try render(context, site, status: $0.status, notice: .error(context.catalog.message($0))) })
    }

    static func setActive(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        let active = try request.form()["active"] == "1"
        return try Pages.submitting({
            try site.team.setDisabled(userID: id, !active, by: try Pages.actor(request, context))
            return .redirect(to: "/team")
        }, orShow: { try render(context, site, status: $0.status, notice: .error(context.catalog.message($0))) })
    }

    static func reset(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let token = try site.team.resetLink(userID: try context.id(), by: try Pages.actor(request, context))
        return try render(context, site, notice: .ok(context.catalog("team_new_link_notice")),
                          link: link(site, token))
    }

    static func saveSettings(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let on = try request.form()["require_admin_2fa"] != nil
        return try Pages.submitting({
            try site.twoFactor.setRequireAdminTwoFactor(on, by: try context.requireUser(), address: request.remoteAddress)
            return .redirect(to: "/team")
        }, orShow: { try render(context, site, status: $0.status, notice: .error(context.catalog.message($0))) })
    }

    static func endSessions(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try site.team.endSessions(userID: try context.id(), by: try Pages.actor(request, context))
        return .redirect(to: "/team")
    }
}

import FastCGI
import Templating
import VoxCore
import VoxServices

/// Renders a page template inside the layout, with what every page needs.
enum Pages {
    struct NavItem {
        let href: String
        /// A catalog key.
        let label: String
    }

    /// Each is listed for whom its route's access permits (the route table decides, not a
    /// second list of roles here).
    static let navigation = [
        NavItem(href: "/", label: "nav_home"),
        NavItem(href: "/calls", label: "nav_calls"),
        NavItem(href: "/statistics", label: "nav_statistics"),
        NavItem(href: "/applications", label: "nav_applications"),
        NavItem(href: "/setup", label: "nav_setup"),
        NavItem(href: "/health", label: "nav_health"),
        NavItem(href: "/team", label: "nav_team"),
        NavItem(href: "/audit", label: "nav_audit"),
        NavItem(href: "/jobs", label: "nav_jobs"),
        NavItem(href: "/backups", label: "nav_backups"),
    ]

    /// A one-line message at the top of a page about what was just done: `kind` is "ok" or
    /// "error" (the CSS class).
    struct Notice: Encodable {
        let kind: String
        let text: String
        static func ok(_ text: String) -> Notice { Notice(kind: "ok", text: text) }
        static func error(_ text: String) -> Notice { Notice(kind: "error", text: text) }
    }

    /// A choice in a select or a group of check boxes, with whether it is the current one.
    struct Option: Encodable {
        let value: String
        let label: String
        let selected: Bool
    }

    /// The layout's values: the page's HTML inside, the signed-in user and the menu.
    struct Layout: Encodable {
        struct Viewer: Encodable {
            let email: String
            let role: String
        }
        struct Link: Encodable {
            let href: String
            let label: String
            let active: Bool
        }
        let title: String
        let content: String
        let csrf: String
        let user: Viewer?
        let nav: [Link]
        /// The header's one-click language switch: to the other language.
        let switchTo: String
        let switchLabel: String
    }

    static func render(
        _ template: String, title: String, _ values: some Encodable, context: RequestContext, site: Site,
        status: HTTPStatus = .ok, activePath: String? = nil
    ) -> Response {
        let catalog = context.catalog
        let strings: TemplateValue = .object(["csrf": .text(context.csrfToken), "t": catalog.templateStrings,
                                              "lang": .text(catalog.language.rawValue)])
        let content = site.templates.render(template, values, outer: strings)
        let user = context.user
        let other = catalog.language == .ru ? Language.en : .ru
        let layout = Layout(
            title: title, content: content, csrf: context.csrfToken,
            user: user.map { Layout.Viewer(email: $0.email, role: catalog("role_" + $0.role.rawValue)) },
            nav: user.map { user in
                navigation.filter { Routes.access(get: $0.href)?.permits(user) == true }
                    .map { Layout.Link(href: $0.href, label: catalog($0.label), active: $0.href == activePath) }
            } ?? [],
            switchTo: other.rawValue, switchLabel: catalog("language_name_" + other.rawValue))
        return .html(site.templates.render("layout", layout, outer: strings), status: status)
    }

    /// Runs a form's action. When it fails with an error that has an HTTP meaning other than
    /// "not found" (bad input, a record in use, an upstream that refused), `page` shows the form
    /// again with it, at its status; a missing record (or someone else's) stays the 404 page.
    /// Records what the signed-in user just did that is not itself a stored change (a reveal,
    /// an export, a download); changes record their line in their own transaction instead.
    /// Who is making this request, for a change's audit line.
    static func actor(_ request: Request, _ context: RequestContext) throws -> AuditActor {
        AuditActor(try context.requireUser(), address: request.remoteAddress)
    }

    static func audit(_ action: AuditAction, _ detail: String, _ request: Request, _ context: RequestContext, _ site: Site) throws {
        try site.audit.record(action, by: AuditActor(try context.requireUser(), address: request.remoteAddress), detail)
    }

    static func submitting(_ action: () throws -> Response,
                           orShow page: (any HTTPResponseError) throws -> Response) throws -> Response {
        do { return try action() } catch let error as any HTTPResponseError where error.status != .notFound {
            return try page(error)
        }
    }

    static func error(_ error: any HTTPResponseError, context: RequestContext, site: Site) -> Response {
        if (300..<400).contains(error.status.rawValue) { return Response(status: error.status) }
        struct Values: Encodable {
            let status: Int
            let reason: String
            let message: String
        }
        return render("error", title: context.catalog.reason(error.status),
                      Values(status: Int(error.status.rawValue), reason: context.catalog.reason(error.status),
                             message: context.catalog.message(error)),
                      context: context, site: site, status: error.status)
    }
}

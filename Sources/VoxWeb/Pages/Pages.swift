import FastCGI
import VoxCore
import VoxServices

/// Renders a page template inside the layout, with what every page needs.
enum Pages {
    struct NavItem {
        let href: String
        let label: String
        var adminOnly = false
    }

    /// Only pages that work are listed; `adminOnly` ones only for admins.
    static let navigation = [
        NavItem(href: "/", label: "Home"),
        NavItem(href: "/calls", label: "Call History"),
        NavItem(href: "/statistics", label: "Statistics"),
        NavItem(href: "/applications", label: "Applications"),
        NavItem(href: "/setup", label: "Setup"),
        NavItem(href: "/jobs", label: "Jobs", adminOnly: true),
    ]

    static func render(
        _ template: String, title: String, _ values: [String: Any], context: RequestContext, site: Site,
        status: HTTPStatus = .ok, activePath: String? = nil
    ) -> Response {
        var page = values
        page["csrf"] = context.csrfToken
        let content = site.templates.render(template, page)
        var layout: [String: Any] = [
            "title": title,
            "content": content,
            "csrf": context.csrfToken,
        ]
        if let user = context.user {
            layout["user"] = ["email": user.email, "role": user.role.rawValue]
            layout["nav"] = navigation.filter { !$0.adminOnly || user.isAdmin }.map { item -> [String: Any] in
                ["href": item.href, "label": item.label, "active": item.href == activePath]
            }
        }
        return .html(site.templates.render("layout", layout), status: status)
    }

    /// Runs a form's action. When it fails with an error that has an HTTP meaning other than
    /// "not found" (bad input, a record in use, an upstream that refused), `page` shows the form
    /// again with it, at its status; a missing record (or someone else's) stays the 404 page.
    static func submitting(_ action: () throws -> Response,
                           orShow page: (any HTTPResponseError) throws -> Response) throws -> Response {
        do { return try action() } catch let error as any HTTPResponseError where error.status != .notFound {
            return try page(error)
        }
    }

    static func error(_ error: any HTTPResponseError, context: RequestContext, site: Site) -> Response {
        if (300..<400).contains(error.status.rawValue) { return Response(status: error.status) }
        return render("error", title: error.status.reason, [
            "status": error.status.rawValue, "reason": error.status.reason, "message": error.message,
        ], context: context, site: site, status: error.status)
    }
}

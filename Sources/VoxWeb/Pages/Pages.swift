import FastCGI
import VoxCore

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
        _ template: String, title: String, _ values: [String: Any], context: RequestContext, services: Services,
        status: HTTPStatus = .ok, activePath: String? = nil
    ) -> Response {
        var page = values
        page["csrf"] = context.csrfToken
        let content = services.templates.render(template, page)
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
        return .html(services.templates.render("layout", layout), status: status)
    }

    static func error(_ error: HTTPError, context: RequestContext, services: Services) -> Response {
        if (300..<400).contains(error.status.rawValue) { return Response(status: error.status) }
        return render("error", title: error.status.reason, [
            "status": error.status.rawValue, "reason": error.status.reason, "message": error.message,
        ], context: context, services: services, status: error.status)
    }
}

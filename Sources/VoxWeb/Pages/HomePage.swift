import FastCGI
import VoxCore
import VoxServices

/// What is set up, and the next thing to do.
enum HomePage {
    struct Step: Encodable {
        let title: String
        let detail: String
        let done: Bool
        var href: String? = nil
    }

    struct Values: Encodable {
        let steps: [Step]
        let next: String
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let userCount = try site.users.count()
        let setup = site.setup
        let accounts = try setup.accounts(viewer: user)
        let applications = try setup.applications(viewer: user)
        let deployed = applications.filter { $0.status == .deployed }
        let calls = try site.calls.count(viewer: user, filter: CallFilter())
        let t = context.catalog
        let formatting = Formatting(user: user, catalog: t)
        let steps = [
            Step(title: t("home_sign_in"), detail: t("home_signed_in_as", ["email": user.email, "role": t("role_" + user.role.rawValue)]), done: true),
            Step(title: t("home_team"), detail: userCount == 1 ? t("home_team_one") : formatting.count("home_users", Int64(userCount)),
                 done: userCount > 1, href: "/team"),
            Step(title: t("home_connect"), detail: accounts.isEmpty ? t("home_connect_none") : t("home_connected", ["n": String(accounts.count)]),
                 done: !accounts.isEmpty, href: "/setup"),
            Step(title: t("home_link"),
                 detail: applications.isEmpty ? t("home_link_none")
                     : t("home_apps", ["n": String(applications.count), "deployed": String(deployed.count)]),
                 done: !deployed.isEmpty, href: "/applications"),
            Step(title: t("home_watch"), detail: calls == 0 ? t("home_watch_none") : formatting.count("home_calls_so_far", Int64(calls)),
                 done: calls > 0, href: "/calls"),
        ]
        // A step links to its page only for whom that page's route is open.
        let linked = steps.map { step in
            var step = step
            if let href = step.href, Routes.access(get: href)?.permits(user) != true { step.href = nil }
            return step
        }
        return Pages.render("home", title: t("nav_home"), Values(steps: linked, next: steps.first { !$0.done }?.title ?? t("home_all_set")),
                            context: context, site: site, activePath: "/")
    }
}

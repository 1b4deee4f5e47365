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
        let steps = [
            Step(title: "Sign in", detail: "You are signed in as \(user.email) (\(user.role.rawValue)).", done: true),
            Step(title: "Team", detail: userCount == 1 ? "1 user. An admin adds colleagues on the Team page."
                    : "\(userCount) users.", done: userCount > 1, href: "/team"),
            Step(title: "Connect a Voximplant account",
                 detail: accounts.isEmpty ? "Add the account id and API key on the Setup page." : "\(accounts.count) connected.",
                 done: !accounts.isEmpty, href: "/setup"),
            Step(title: "Link a phone number to an ElevenLabs agent",
                 detail: applications.isEmpty ? "Create an application, then “Deploy to Voximplant”."
                     : "\(applications.count) application(s), \(deployed.count) deployed.",
                 done: !deployed.isEmpty, href: "/applications"),
            Step(title: "Watch calls arrive", detail: calls == 0 ? "Call History and Statistics fill in as calls come."
                    : "\(Formatting.count(Int64(calls))) calls so far.", done: calls > 0, href: "/calls"),
        ]
        // A step links to its page only for whom that page's route is open.
        let linked = steps.map { step in
            var step = step
            if let href = step.href, Routes.access(get: href)?.permits(user) != true { step.href = nil }
            return step
        }
        return Pages.render("home", title: "Home", Values(steps: linked, next: steps.first { !$0.done }?.title ?? "Nothing: all set."),
                            context: context, site: site, activePath: "/")
    }
}

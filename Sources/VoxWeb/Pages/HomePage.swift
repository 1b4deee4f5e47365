import FastCGI
import VoxCore

/// What is set up, and the next thing to do.
enum HomePage {
    static func show(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let userCount = try services.users.count()
        let steps: [[String: Any]] = [
            ["title": "Sign in", "detail": "You are signed in as \(user.email) (\(user.role.rawValue)).", "done": true],
            ["title": "Team", "detail": userCount == 1 ? "1 user. Add more with: voxfcgi user add --email … --role operator"
                : "\(userCount) users.", "done": userCount > 1],
            ["title": "Connect a Voximplant account",
             "detail": "Not connected yet. The Setup page, where you enter the account id and API key, arrives with the next release.",
             "done": false],
            ["title": "Link a phone number to an ElevenLabs agent",
             "detail": "Needs a connected account first.", "done": false],
            ["title": "Watch calls arrive", "detail": "Call History and Statistics fill in once a number is linked.", "done": false],
        ]
        let next = steps.first { ($0["done"] as? Bool) == false }?["title"] as? String ?? "Nothing: all set."
        return Pages.render("home", title: "Home", [
            "email": user.email, "steps": steps, "next": next,
        ], context: context, services: services, activePath: "/")
    }
}

import FastCGI
import Foundation
import VoxCore

/// The one-time link: choose a password (invitation or reset), then sign in.
enum InvitePage {
    struct Values: Encodable {
        let token: String
        let email: String
        let reset: Bool
        let minimum: Int
        let error: String?
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let token = try context.parameter("token")
        guard let (invitation, user) = try site.team.openLink(token) else { throw TeamError.linkExpired }
        return page(context, site, Values(token: token, email: user.email, reset: invitation.purpose == .reset,
                                          minimum: PasswordPolicy.minimumLength, error: nil))
    }

    static func submit(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let token = try context.parameter("token")
        let form = try request.form()
        guard let (invitation, user) = try site.team.openLink(token) else { throw TeamError.linkExpired }
        let password = form["password"] ?? ""
        do {
            guard password == form["confirm"] else { throw UserError.weakPassword(context.catalog("passwords_differ")) }
            _ = try site.team.redeem(token, password: password, address: request.remoteAddress)
        } catch let error as UserError {
            return page(context, site, Values(token: token, email: user.email, reset: invitation.purpose == .reset,
                                              minimum: PasswordPolicy.minimumLength, error: context.catalog.message(error)), status: .unprocessableContent)
        }
        return .redirect(to: "/login?welcome=1")
    }

    private static func page(_ context: RequestContext, _ site: Site, _ values: Values, status: HTTPStatus = .ok) -> Response {
        var response = Pages.render("invite", title: context.catalog("title_choose_password"), values, context: context, site: site, status: status)
        // The token is in the URL: no referrer, no cache.
        response.addHeader("Referrer-Policy", "no-referrer")
        response.addHeader("Cache-Control", "no-store")
        return response
    }
}

import FastCGI
import Foundation
import VoxCore
import VoxServices

/// "Sync now" on Call History, and the progress it shows while the sync runs.
enum SyncEndpoints {
    struct Status: Encodable {
        let account: String
        let running: Bool
        let pagesDone: Int
        let inserted: Int
        let updated: Int
        let error: String?
        let finished: String?
    }

    static func statuses(_ user: User, _ site: Site) throws -> [Status] {
        let formatting = Formatting(user: user)
        return try site.sync.states(of: try site.setup.accounts(viewer: user)).map { account, state in
            Status(account: account.name, running: state.running, pagesDone: state.pagesDone, inserted: state.inserted,
                   updated: state.updated, error: state.lastError, finished: state.finishedAt.map(formatting.dateTime))
        }
    }

    static func syncNow(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        for account in try site.setup.accounts(viewer: user) where account.active {
            try site.sync.enqueue(accountID: account.id)
        }
        return .redirect(to: "/calls?syncing=1")
    }

    static func status(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        var response = Response.json(["accounts": try statuses(try context.requireUser(), site)])
        response.addHeader("Cache-Control", "no-store")
        return response
    }
}

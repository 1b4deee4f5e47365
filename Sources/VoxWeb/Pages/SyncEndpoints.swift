import FastCGI
import Foundation
import VoxCore

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

    static func statuses(_ user: User, _ services: Services) throws -> [Status] {
        let formatting = Formatting(user: user)
        let accounts = try SetupPage.service(services).accounts(viewer: user)
        return try services.database.environment.read { txn in
            try accounts.compactMap { account in
                guard let state = try services.database.syncStates.get(txn, account.id) else { return nil }
                return Status(account: account.name, running: state.running, pagesDone: state.pagesDone, inserted: state.inserted,
                              updated: state.updated, error: state.lastError, finished: state.finishedAt.map(formatting.dateTime))
            }
        }
    }

    static func syncNow(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        let user = try context.requireUser()
        let sync = CallSync(services: services)
        for account in try SetupPage.service(services).accounts(viewer: user) where account.active {
            try sync.enqueue(accountID: account.id)
        }
        return .redirect(to: "/calls?syncing=1")
    }

    static func status(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        var response = Response.json(["accounts": try statuses(try context.requireUser(), services)])
        response.addHeader("Cache-Control", "no-store")
        return response
    }
}

import FastCGI
import Foundation
import VoxCore
import VoxServices

/// `GET /api/calls/live`: the viewer's calls in progress, for the panel on Call History that
/// polls it every few seconds.
enum LiveCalls {
    struct Row: Encodable {
        let id: UInt64
        let from: String
        let to: String
        let started: String
        let elapsedSeconds: Int
    }

    static func json(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user)
        let now = site.clock.now()
        let calls = try site.calls.page(viewer: user, filter: CallFilter(statuses: [.inProgress]), limit: 100).calls
        let rows = calls.map { call in
            Row(id: call.id, from: PhoneNumber.display(call.fromNumber), to: PhoneNumber.display(call.toNumber),
                started: formatting.dateTime(call.startedAt), elapsedSeconds: max(0, Int(now.timeIntervalSince(call.startedAt))))
        }
        var response = Response.json(["calls": rows])
        response.addHeader("Cache-Control", "no-store")
        return response
    }
}

import FastCGI
import Foundation
import VoxCore

/// Audit (admins): who did what, when, from where; newest first, filtered, paged by a
/// keyset cursor (`before=<µs>.<seq>`), and as CSV.
enum AuditPage {
    struct Row: Encodable {
        let at: String
        let email: String
        let address: String
        let action: String
        let detail: String
    }

    struct Values: Encodable {
        let rows: [Row]
        let users: [Pages.Option]
        let actions: [Pages.Option]
        let from: String
        let to: String
        let next: String?
        let query: String
        let empty: Bool
        let error: String?
    }

    /// The filter from the query; a bad field is named, never a trap.
    static func filter(_ query: Parameters, formatting: Formatting) throws -> (AuditLog.Filter, AuditLog.Cursor?) {
        var filter = AuditLog.Filter()
        if let user = query.text("user") {
            guard let id = UInt64(user), id > 0 else { throw HTTPError(.badRequest, formatting.catalog("audit_bad_user")) }
            filter.userID = id
        }
        if let action = query.text("action") {
            guard AuditAction(rawValue: action) != nil else { throw HTTPError(.badRequest, formatting.catalog("audit_bad_action", ["action": String(action.prefix(40))])) }
            filter.action = action
        }
        let days = DayRange(fromText: query.text("from") ?? "", toText: query.text("to") ?? "", formatting: formatting)
        guard days.errors.isEmpty else { throw HTTPError(.badRequest, days.errors.joined(separator: " ")) }
        filter.from = days.from
        filter.to = days.to.map { $0.addingTimeInterval(86_400) }
        var cursor: AuditLog.Cursor?
        if let before = query.text("before") {
            let parts = before.split(separator: ".")
            guard parts.count == 2, let micros = UInt64(parts[0]), let sequence = UInt64(parts[1]) else {
                throw HTTPError(.badRequest, formatting.catalog("audit_bad_cursor"))
            }
            cursor = (micros, sequence)
        }
        return (filter, cursor)
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let admin = try context.requireUser()
        let formatting = Formatting(user: admin, catalog: context.catalog)
        let (filter, cursor) = try self.filter(request.query, formatting: formatting)
        let page = try site.audit.page(filter, before: cursor, limit: 100)
        let users = try site.users.all().map { Pages.Option(value: String($0.id), label: $0.email, selected: $0.id == filter.userID) }
        let actions = AuditAction.allCases.map { Pages.Option(value: $0.rawValue, label: $0.rawValue, selected: $0.rawValue == filter.action) }
        var query = request.query.items.filter { $0.name != "before" }
        let rows = page.entries.map { entry in
            Row(at: formatting.dateTime(entry.at), email: entry.email, address: entry.address, action: entry.action, detail: entry.detail)
        }
        let next = page.next.map { cursor -> String in
            query.append(("before", "\(cursor.micros).\(cursor.sequence)"))
            defer { query.removeLast() }
            return "/audit?" + Parameters(query).urlEncoded
        }
        return Pages.render("audit", title: context.catalog("audit_title"), Values(
            rows: rows, users: users, actions: actions, from: request.query.text("from") ?? "", to: request.query.text("to") ?? "",
            next: next, query: Parameters(query).urlEncoded, empty: rows.isEmpty, error: nil),
            context: context, site: site, activePath: "/audit")
    }

    /// Every matching entry, newest first, streamed.
    static func export(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let admin = try context.requireUser()
        let formatting = Formatting(user: admin, catalog: context.catalog)
        let (filter, _) = try self.filter(request.query, formatting: formatting)
        let audit = site.audit
        return Response(status: .ok, headers: [
            ("Content-Type", "text/csv; charset=utf-8"),
            ("Content-Disposition", "attachment; filename=\"audit-\(formatting.day(site.clock.now())).csv\""),
        ], body: .stream { writer in
            try writer.write(CallsPage.csvHeader(["time", "user_id", "email", "address", "action", "detail"], context.catalog))
            let iso = ISO8601DateFormatter()
            var cursor: AuditLog.Cursor?
            repeat {
                let page = try audit.page(filter, before: cursor, limit: 1000)
                var buffer = ""
                for entry in page.entries {
                    buffer += [iso.string(from: entry.at), entry.userID.map(String.init) ?? "", entry.email, entry.address, entry.action,
                               entry.detail].map(CallsPage.csvField).joined(separator: ",") + "\r\n"
                }
                try writer.write(buffer)
                cursor = page.next
            } while cursor != nil
        })
    }
}

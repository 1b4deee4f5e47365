import FastCGI
import Foundation
import VoxCore
import VoxServices

/// Jobs (admins): what is waiting, and what failed for good, with retry and discard.
enum JobsPage {
    struct Row: Encodable {
        let id: UInt64
        let kind: String
        /// The kind in the viewer's language.
        let kindLabel: String
        let payload: String
        let attempts: Int
        /// "1 attempt", "5 попыток".
        let attemptsText: String
        let due: String
        let error: String
        let failedAt: String
    }

    struct Values: Encodable {
        let pending: [Row]
        let pendingCount: Int
        let failed: [Row]
        let noFailed: Bool
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user, catalog: context.catalog)
        func row(_ job: Job) -> Row {
            Row(id: job.id, kind: job.kind, kindLabel: context.catalog.jobKind(job.kind), payload: job.payload, attempts: job.attempts,
                attemptsText: formatting.count("jobs_attempts_n", Int64(job.attempts)),
                due: formatting.dateTime(Time.date(micros: job.dueMicros)), error: job.lastError ?? "",
                failedAt: job.failedAt.map(formatting.dateTime) ?? "")
        }
        let pending = try site.jobs.pending()
        let failed = try site.jobs.failed()
        return Pages.render("jobs", title: context.catalog("nav_jobs"),
                            Values(pending: pending.prefix(200).map(row), pendingCount: pending.count,
                                   failed: failed.map(row), noFailed: failed.isEmpty),
                            context: context, site: site, activePath: "/jobs")
    }

    static func retry(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        try site.jobs.retry(id: id)
        try Pages.audit(.jobRetried, "job \(id)", request, context, site)
        return .redirect(to: "/jobs")
    }

    static func discard(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let id = try context.id()
        try site.jobs.discard(id: id)
        try Pages.audit(.jobDiscarded, "job \(id)", request, context, site)
        return .redirect(to: "/jobs")
    }
}

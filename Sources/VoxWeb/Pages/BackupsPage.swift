import FastCGI
import Foundation
import VoxCore
import VoxServices

/// Backups (admins): the schedule, the backups in the store, the last runs and their errors,
/// and "Back up now".
enum BackupsPage {
    struct Row: Encodable {
        let name: String
        let taken: String
        let size: String
        let databaseSize: String
        let keys: String
    }

    struct Run: Encodable {
        let at: String
        let outcome: String
        let failed: Bool
    }

    struct Values: Encodable {
        let schedule: String
        let next: String?
        let store: String
        let rows: [Row]
        let empty: Bool
        let runs: [Run]
        let lastError: String?
        let listError: String?
        let queued: Bool
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let formatting = try Formatting(context)
        let t = context.catalog
        let policy = site.backupJob.policy
        var rows: [Row] = []
        var listError: String?
        do {
            rows = try site.backups.list().map { manifest in
                Row(name: manifest.name, taken: formatting.dateTime(manifest.createdAt), size: Formatting.bytes(manifest.size),
                    databaseSize: Formatting.bytes(manifest.databaseBytes),
                    keys: manifest.masterKeyIDs.isEmpty ? "—" : manifest.masterKeyIDs.map(String.init).joined(separator: ", "))
            }
        } catch let error as any HTTPResponseError {
            listError = t("backups_list_failed", ["error": t.message(error)])
        }
        let log = site.backups.log
        let runs = try log.recent(limit: 10)
        let lastSuccess = try log.lastSuccess()
        // The error that matters is one since the last backup that worked.
        let lastError = runs.first { $0.error != nil && ($0.at > (lastSuccess?.at ?? .distantPast)) }?.error
        let schedule = policy.everyHours > 0
            ? t("backups_schedule", ["hours": String(policy.everyHours), "daily": String(policy.daily), "weekly": String(policy.weekly)])
            : t("backups_schedule_off")
        return Pages.render("backups", title: t("backups_title"), Values(
            schedule: schedule, next: try site.backupJob.nextRun().map(formatting.dateTime),
            store: try site.recordings.current().store.label, rows: rows, empty: rows.isEmpty && listError == nil,
            runs: runs.map { run in
                Run(at: formatting.dateTime(run.at),
                    outcome: run.error ?? t("backups_run_ok", ["name": run.name ?? "", "size": Formatting.bytes(run.size ?? 0)]),
                    failed: run.error != nil)
            },
            lastError: lastError, listError: listError, queued: request.query["queued"] == "1"
        ), context: context, site: site, activePath: "/backups")
    }

    static func create(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try site.backupJob.enqueue(reason: "requested")
        try Pages.audit(.backupRequested, "backup now", request, context, site)
        return .redirect(to: "/backups?queued=1")
    }
}

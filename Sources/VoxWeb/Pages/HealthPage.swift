import FastCGI
import Foundation
import VoxCore
import VoxServices

/// Health (operators and admins, each their own accounts): how each account's sync went and
/// when the next one runs, and the last webhook events of each application.
enum HealthPage {
    struct Account: Encodable {
        let name: String
        let voximplantID: String
        let state: String
        let started: String
        let finished: String
        let pages: String
        let inserted: String
        let updated: String
        let lag: String
        let next: String
        let error: String?
        let reconciliation: Mismatches?
    }

    struct Mismatches: Encodable {
        let window: String
        let clean: Bool
        let webhookOnly: String
        let historyOnly: String
        let unlinked: String
        let webhookOnlyCalls: [UInt64]
        let historyOnlyCalls: [UInt64]
    }

    struct Event: Encodable {
        let at: String
        let type: String
        let session: String
        let outcome: String
        let failed: Bool
        let delay: String
    }

    struct Application: Encodable {
        let name: String
        let number: String
        let events: [Event]
        let empty: Bool
        let countText: String
    }

    struct Values: Encodable {
        let accounts: [Account]
        let noAccounts: Bool
        let applications: [Application]
        let noApplications: Bool
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user, catalog: context.catalog)
        let t = context.catalog
        let now = site.clock.now()
        let accounts = try site.setup.accounts(viewer: user)
        let states = Dictionary(try site.sync.states(of: accounts).map { ($0.account.id, $0.state) }, uniquingKeysWith: { a, _ in a })
        let rows = accounts.map { account -> Account in
            let state = states[account.id]
            let next: String
            if !account.active || !account.hasCredentials {
                next = t("health_not_scheduled")
            } else if let state, state.running {
                next = t("health_running")
            } else if let last = state?.startedAt {
                let due = last.addingTimeInterval(site.syncInterval)
                next = due <= now ? t("health_due") : formatting.shortDateTime(due)
            } else {
                next = t("health_due")
            }
            return Account(
                name: account.name, voximplantID: account.voximplantAccountID,
                state: state.map { $0.running ? t("health_running") : ($0.lastError == nil ? t("health_ok") : t("health_failed")) }
                    ?? t("health_never"),
                started: state?.startedAt.map(formatting.shortDateTime) ?? "—", finished: state?.finishedAt.map(formatting.shortDateTime) ?? "—",
                pages: state.map { Formatting.count(Int64($0.pagesDone)) } ?? "—",
                inserted: state.map { Formatting.count(Int64($0.inserted)) } ?? "—",
                updated: state.map { Formatting.count(Int64($0.updated)) } ?? "—",
                lag: state?.checkpoint.map { age(now.timeIntervalSince($0), t) } ?? "—",
                next: next, error: state?.lastError,
                reconciliation: state?.reconciliation.map { found in
                    Mismatches(window: formatting.dateTime(found.windowStart) + " – " + formatting.dateTime(found.windowEnd),
                               clean: !found.hasMismatches, webhookOnly: Formatting.count(Int64(found.webhookOnly)),
                               historyOnly: Formatting.count(Int64(found.historyOnly)), unlinked: Formatting.count(Int64(found.unlinked)),
                               webhookOnlyCalls: found.webhookOnlyCalls, historyOnlyCalls: found.historyOnlyCalls)
                })
        }
        let applications = try site.setup.applications(viewer: user).map { application -> Application in
            let events = site.webhookEvents.recent(applicationID: application.id).map { entry in
                Event(at: formatting.dateTime(entry.receivedAt), type: entry.type, session: String(entry.sessionID),
                      outcome: t("health_outcome_" + entry.outcome), failed: entry.outcome != "accepted",
                      delay: entry.delay.map { $0 < 60 ? String(format: "%.1f s", $0) : age($0, t) } ?? "—")
            }
            return Application(name: application.name, number: PhoneNumber.display(application.phoneNumber), events: events,
                               empty: events.isEmpty, countText: formatting.count("health_events_n", Int64(events.count)))
        }
        return Pages.render("health", title: t("nav_health"), Values(
            accounts: rows, noAccounts: rows.isEmpty, applications: applications, noApplications: applications.isEmpty
        ), context: context, site: site, activePath: "/health")
    }

    /// "42 s", "5 min", "3 h", "2 d": how old a checkpoint is.
    static func age(_ seconds: TimeInterval, _ t: Catalog) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return t("age_seconds", ["n": String(s)]) }
        if s < 7200 { return t("age_minutes", ["n": String(s / 60)]) }
        if s < 172_800 { return t("age_hours", ["n": String(s / 3600)]) }
        return t("age_days", ["n": String(s / 86_400)])
    }
}

import FastCGI
import Foundation
import VoxCore
import VoxServices

enum StatisticsPage {
    static let statusSeries = CallStatus.allCases.map { Charts.Series(name: $0.name, cssClass: "s-\($0.name)") }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user)
        let today = formatting.startOfDay(formatting.day(site.clock.now()))!
        let fromText = request.query.text("from") ?? formatting.day(formatting.addingDays(-29, to: today))
        let toText = request.query.text("to") ?? formatting.day(today)
        let range = DayRange(fromText: fromText, toText: toText, formatting: formatting, maxDays: 366)
        var values: [String: Any] = ["from": fromText, "to": toText]
        guard range.errors.isEmpty, let from = range.from, let to = range.to else {
            values["errors"] = range.errors
            return Pages.render("statistics", title: "Statistics", values, context: context, site: site,
                                status: .badRequest, activePath: "/statistics")
        }
        let report = try site.statistics.report(viewer: user, firstDay: from, lastDay: to, timeZone: formatting.timeZone)
        let currencies = try site.statistics.currencyByApplication(viewer: user)
        // Costs in different currencies do not add up: totals show money only when there is one.
        let distinct = Set(currencies.values)
        let currency = distinct.count == 1 ? distinct.first : nil
        let labels = report.days.map(\.day)
        let total = report.total
        values["total"] = summary(total, currency: currency)
        values["callsChart"] = Charts.stackedBars(
            title: "Calls per day", labels: labels, series: statusSeries,
            values: report.days.map { day in CallStatus.allCases.map { Double(day.stats.count($0)) } },
            format: { Formatting.count(Int64($0)) })
        values["durationChart"] = Charts.bars(
            title: "Average duration of answered calls", labels: labels,
            values: report.days.map { day in
                let answered = day.stats.count(.answered)
                return answered > 0 ? Double(day.stats.answeredDurationSeconds) / Double(answered) : 0
            }, cssClass: "s-duration", format: { Formatting.duration(Int($0)) })
        if let currency {
            values["costChart"] = Charts.bars(
                title: "Cost per day", labels: labels, values: report.days.map { Double($0.stats.costMicros) / 1_000_000 },
                cssClass: "s-cost", format: { Formatting.amount(micros: Int64($0 * 1_000_000), currency: currency) })
        }
        values["mixedCurrencies"] = currency == nil && !currencies.isEmpty
        values["applications"] = report.perApplication.map { entry -> [String: Any] in
            var row = summary(entry.stats, currency: currencies[entry.application.id])
            row["name"] = entry.application.name
            row["number"] = PhoneNumber.display(entry.application.phoneNumber)
            return row
        }
        let unlinked = report.unlinked
        if unlinked.total > 0 {
            var row = summary(unlinked, currency: currency)
            row["name"] = "Other calls"
            row["number"] = "not linked to an application"
            values["unlinked"] = row
        }
        values["days"] = labels.count
        return Pages.render("statistics", title: "Statistics", values, context: context, site: site, activePath: "/statistics")
    }

    static func summary(_ stats: CallStatsBucket, currency: String?) -> [String: Any] {
        let answered = stats.count(.answered)
        return [
            "calls": Formatting.count(stats.total),
            "answered": Formatting.count(answered),
            "answeredRate": Formatting.percent(answered, of: stats.total),
            "averageDuration": answered > 0 ? Formatting.duration(Int(stats.answeredDurationSeconds / answered)) : "—",
            "cost": currency.map { Formatting.amount(micros: stats.costMicros, currency: $0) } ?? "mixed currencies",
            "failed": Formatting.count(stats.count(.failed)),
            "busy": Formatting.count(stats.count(.busy)),
            "noAnswer": Formatting.count(stats.count(.noAnswer)),
        ]
    }
}

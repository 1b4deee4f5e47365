import FastCGI
import Foundation
import VoxCore
import VoxServices

enum StatisticsPage {
    /// Counts of one group of calls, formatted. A row of the per-application table names itself;
    /// the totals do not. Every name a row's section reads is a field here: a name missing from
    /// the row would be read from the totals around it.
    struct Summary: Encodable {
        let name: String?
        let number: String?
        let calls: String
        let answered: String
        /// "1 234 answered calls", in the right plural form.
        let answeredCount: String
        let answeredRate: String
        let averageDuration: String
        var cost: String
        let failed: String
        let busy: String
        let noAnswer: String
    }

    struct Values: Encodable {
        let from: String
        let to: String
        var errors: [String] = []
        var total: Summary? = nil
        var callsChart = ""
        var durationChart = ""
        var costChart: String? = nil
        /// Several currencies: a total and a chart each (amounts in different currencies do
        /// not add up).
        var costsByCurrency: [CurrencyCost] = []
        var applications: [Summary] = []
        var unlinked: Summary? = nil
    }

    struct CurrencyCost: Encodable {
        let currency: String
        let total: String
        let chart: String
    }

    static func statusSeries(_ catalog: Catalog) -> [Charts.Series] {
        CallStatus.allCases.map { Charts.Series(name: catalog("status_" + $0.name), cssClass: "s-\($0.name)") }
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user, catalog: context.catalog)
        let today = formatting.startOfDay(formatting.day(site.clock.now()))!
        let fromText = request.query.text("from") ?? formatting.day(formatting.addingDays(-29, to: today))
        let toText = request.query.text("to") ?? formatting.day(today)
        let range = DayRange(fromText: fromText, toText: toText, formatting: formatting, maxDays: 366)
        var values = Values(from: fromText, to: toText)
        guard range.errors.isEmpty, let from = range.from, let to = range.to else {
            values.errors = range.errors
            return Pages.render("statistics", title: context.catalog("stats_title"), values, context: context, site: site,
                                status: .badRequest, activePath: "/statistics")
        }
        let report = try site.statistics.report(viewer: user, firstDay: from, lastDay: to, timeZone: formatting.timeZone)
        let currencies = try site.statistics.currencyByApplication(viewer: user)
        // Costs in different currencies do not add up: totals show money only when there is one.
        let distinct = Set(currencies.values)
        let currency = distinct.count == 1 ? distinct.first : nil
        let labels = formatting.chartLabels(days: report.days.map(\.day))
        values.total = summary(report.total, currency: currency, formatting: formatting)
        values.callsChart = Charts.stackedBars(
            title: formatting.catalog("stats_per_day"), labels: labels, series: statusSeries(formatting.catalog),
            values: report.days.map { day in CallStatus.allCases.map { Double(day.stats.count($0)) } },
            format: { Formatting.count(Formatting.clamped($0)) })
        values.durationChart = Charts.bars(
            title: formatting.catalog("stats_chart_avg"), labels: labels,
            values: report.days.map { day in
                let answered = day.stats.count(.answered)
                return answered > 0 ? Double(day.stats.answeredDurationSeconds) / Double(answered) : 0
            }, cssClass: "s-duration", format: { Formatting.duration(Int(Formatting.clamped($0))) })
        if let currency {
            values.costChart = costChart(report.days.map { $0.stats.costMicros }, currency: currency, labels: labels, formatting: formatting)
        } else if distinct.count > 1 {
            values.costsByCurrency = distinct.sorted().map { code in
                let apps = report.perApplication.filter { currencies[$0.application.id] == code }
                var perDay = [Int64](repeating: 0, count: report.days.count)
                var total: Int64 = 0
                for entry in apps {
                    total = total.addingReportingOverflow(entry.stats.costMicros).partialValue
                    for (index, micros) in (report.costPerDayByApplication[entry.application.id] ?? []).enumerated() where index < perDay.count {
                        perDay[index] = perDay[index].addingReportingOverflow(micros).partialValue
                    }
                }
                return CurrencyCost(currency: code, total: formatting.amount(micros: total, currency: code),
                                    chart: costChart(perDay, currency: code, labels: labels, formatting: formatting, titled: code))
            }
            values.total?.cost = values.costsByCurrency.map(\.total).joined(separator: " · ")
        }
        values.applications = report.perApplication.map { entry in
            summary(entry.stats, currency: currencies[entry.application.id], formatting: formatting,
                    name: entry.application.name, number: PhoneNumber.display(entry.application.phoneNumber))
        }
        let unlinked = report.unlinked
        if unlinked.total > 0 {
            values.unlinked = summary(unlinked, currency: currency, formatting: formatting, name: formatting.catalog("stats_other_calls"),
                                      number: formatting.catalog("stats_not_linked"))
        }
        return Pages.render("statistics", title: context.catalog("stats_title"), values, context: context, site: site, activePath: "/statistics")
    }

    static func costChart(_ perDay: [Int64], currency: String, labels: [Charts.Label], formatting: Formatting, titled: String? = nil) -> String {
        Charts.bars(
            title: formatting.catalog("stats_cost_per_day") + (titled.map { " (\($0))" } ?? ""), labels: labels,
            values: perDay.map { Double($0) / 1_000_000 },
            cssClass: "s-cost", format: { formatting.amount(micros: Formatting.clamped($0 * 1_000_000), currency: currency) })
    }

    static func summary(_ stats: CallStatsBucket, currency: String?, formatting: Formatting, name: String? = nil,
                        number: String? = nil) -> Summary {
        let answered = stats.count(.answered)
        return Summary(
            name: name, number: number,
            calls: Formatting.count(stats.total),
            answered: Formatting.count(answered),
            answeredCount: formatting.count("answered_count", answered),
            answeredRate: formatting.percent(answered, of: stats.total),
            averageDuration: answered > 0 ? Formatting.duration(Int(stats.answeredDurationSeconds / answered)) : "—",
            cost: currency.map { formatting.amount(micros: stats.costMicros, currency: $0) } ?? formatting.catalog("stats_mixed_short"),
            failed: Formatting.count(stats.count(.failed)),
            busy: Formatting.count(stats.count(.busy)),
            noAnswer: Formatting.count(stats.count(.noAnswer)))
    }
}

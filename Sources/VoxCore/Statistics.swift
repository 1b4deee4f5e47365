import Foundation
import KVStore

public struct DayStatistics: Sendable {
    /// The local date, `yyyy-MM-dd`.
    public var day: String
    public var stats: CallStatsBucket
}

public struct StatisticsReport: Sendable {
    public var days: [DayStatistics]
    public var total: CallStatsBucket
    public var perApplication: [(application: Application, stats: CallStatsBucket)]
    /// Each application's cost per day (µs of its account's currency), in `days` order: what
    /// a chart per currency adds up, since amounts in different currencies do not add.
    public var costPerDayByApplication: [UInt64: [Int64]] = [:]
    /// Calls linked to none of the applications: synced from Voximplant applications that were
    /// not created here. The total minus every application's share (app 0 of the statistics
    /// is "all applications", so these have no bucket of their own).
    public var unlinked: CallStatsBucket {
        var rest = total
        for entry in perApplication { rest.subtract(entry.stats) }
        return rest
    }
}

/// Statistics over the quarter-hour buckets: the cost grows with the number of days asked
/// for, never with the number of calls.
public struct StatisticsQueries: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Days `firstDay` through `lastDay` (inclusive) in `timeZone`.
    public func report(viewer: User, firstDay: Date, lastDay: Date, timeZone: TimeZone) throws -> StatisticsReport {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.startOfDay(for: firstDay)
        let end = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: lastDay))!
        let scopes = viewer.visibility.statisticsScopes
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = timeZone
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"

        // Every day of the range, also the empty ones: a chart needs its gaps.
        var days: [DayStatistics] = []
        var dayIndex: [String: Int] = [:]
        var cursor = start
        while cursor < end {
            let name = formatter.string(from: cursor)
            dayIndex[name] = days.count
            days.append(DayStatistics(day: name, stats: CallStatsBucket()))
            cursor = calendar.date(byAdding: .day, value: 1, to: cursor)!
        }
        let firstQuarter = Quarter.of(micros: Time.micros(start))
        let endQuarter = Quarter.of(micros: Time.micros(end))

        return try database.environment.read { txn in
            var total = CallStatsBucket()
            // The day of a quarter depends only on the zone's offset at that instant, which
            // changes rarely: remember the last one.
            var lastOffsetCheck: (quarter: UInt32, dayStart: UInt32, name: String)?
            func dayName(_ quarter: UInt32) -> String {
                if let last = lastOffsetCheck, quarter >= last.dayStart, quarter < last.dayStart + 96 { return last.name }
                let instant = Time.date(micros: Quarter.startMicros(quarter))
                let name = formatter.string(from: instant)
                lastOffsetCheck = (quarter, Quarter.of(micros: Time.micros(calendar.startOfDay(for: instant))), name)
                return name
            }
            for scope in scopes { try database.callStats.scan(
                txn, .halfOpen(from: (scope, 0, firstQuarter), below: (scope, 0, endQuarter))) { key, bucket in
                if let index = dayIndex[dayName(key.2)] { days[index].stats.add(bucket) }
                total.add(bucket)
                return true
            }
            }
            var perApplication: [(Application, CallStatsBucket)] = []
            var costPerDay: [UInt64: [Int64]] = [:]
            for application in try visibleApplications(viewer: viewer, txn: txn) {
                var stats = CallStatsBucket()
                var cost = [Int64](repeating: 0, count: days.count)
                for scope in scopes {
                    try database.callStats.scan(
                        txn, .halfOpen(from: (scope, application.id, firstQuarter), below: (scope, application.id, endQuarter))
                    ) { key, bucket in
                        stats.add(bucket)
                        if bucket.costMicros != 0, let index = dayIndex[dayName(key.2)] {
                            cost[index] = cost[index].addingReportingOverflow(bucket.costMicros).partialValue
                        }
                        return true
                    }
                }
                perApplication.append((application, stats))
                costPerDay[application.id] = cost
            }
            return StatisticsReport(days: days, total: total, perApplication: perApplication, costPerDayByApplication: costPerDay)
        }
    }

    func visibleApplications(viewer: User, txn: ReadTransaction) throws -> [Application] {
        var owned = Set<UInt64>()
        try database.accounts.scan(txn) { id, account in
            if viewer.visibility.allows(owner: account.ownerUserID) { owned.insert(id) }
            return true
        }
        return try database.applications.entries(txn).map(\.value).filter { owned.contains($0.accountID) }
    }

    public func applications(viewer: User) throws -> [Application] {
        try database.environment.read { txn in try visibleApplications(viewer: viewer, txn: txn) }
    }
}

extension StatisticsQueries {
    /// Each visible application's billing currency (its account's).
    public func currencyByApplication(viewer: User) throws -> [UInt64: String] {
        try database.environment.read { txn in
            var currencies: [UInt64: String] = [:]
            for application in try visibleApplications(viewer: viewer, txn: txn) {
                currencies[application.id] = try database.accounts.get(txn, application.accountID)?.currency
            }
            return currencies
        }
    }
}

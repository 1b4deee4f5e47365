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

        // Every day of the range, also the empty ones: a chart needs its gaps. A day is the
        // quarters from its start to the next day's (zone offsets are whole quarters of an
        // hour, and a day of a change of offset is as long as the calendar says).
        var days: [DayStatistics] = []
        var boundaries: [UInt32] = []
        var cursor = start
        while cursor < end {
            days.append(DayStatistics(day: CivilTime(cursor, in: timeZone).dayText, stats: CallStatsBucket()))
            boundaries.append(Quarter.of(micros: Time.micros(cursor)))
            cursor = calendar.date(byAdding: .day, value: 1, to: cursor)!
        }
        let firstQuarter = Quarter.of(micros: Time.micros(start))
        let endQuarter = Quarter.of(micros: Time.micros(end))
        boundaries.append(endQuarter)

        return try database.environment.read { txn in
            var total = CallStatsBucket()
            // The scans run in quarter order: the day of the last bucket is usually the next
            // one's too, else a binary search over the days' first quarters finds it.
            var last = 0
            func dayIndex(_ quarter: UInt32) -> Int? {
                if last < days.count, boundaries[last] <= quarter, quarter < boundaries[last + 1] { return last }
                var low = 0, high = days.count  // the last day whose first quarter is <= quarter
                while low < high {
                    let middle = (low + high) / 2
                    if boundaries[middle + 1] <= quarter { low = middle + 1 } else { high = middle }
                }
                guard low < days.count, boundaries[low] <= quarter, quarter < boundaries[low + 1] else { return nil }
                last = low
                return low
            }
            for scope in scopes { try database.callStats.scan(
                txn, .halfOpen(from: (scope, 0, firstQuarter), below: (scope, 0, endQuarter))) { key, bucket in
                if let index = dayIndex(key.2) { days[index].stats.add(bucket) }
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
                        if bucket.costMicros != 0, let index = dayIndex(key.2) {
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
        // Through the decoding caches: every Call History and Statistics page lists them.
        var owned = Set<UInt64>()
        try database.accountCache.scan(txn) { id, account in
            if viewer.visibility.allows(owner: account.ownerUserID) { owned.insert(id) }
            return true
        }
        var applications: [Application] = []
        try database.applicationCache.scan(txn) { _, application in
            if owned.contains(application.accountID) { applications.append(application) }
            return true
        }
        return applications
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

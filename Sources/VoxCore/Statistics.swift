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
        boundaries.append(Quarter.of(micros: Time.micros(end)))

        return try database.environment.read { txn in
            var total = CallStatsBucket()
            // A range scan per day: the day of every bucket is known without a lookup (which,
            // with its state captured by the scan's closure, ran under dynamic exclusivity
            // checks and was a third of the report), and 90 cursor positionings cost less.
            for scope in scopes {
                for index in days.indices {
                    var day = CallStatsBucket()
                    try database.callStats.scan(
                        txn, .halfOpen(from: (scope, 0, boundaries[index]), below: (scope, 0, boundaries[index + 1]))
                    ) { _, bucket in
                        day.add(bucket)
                        return true
                    }
                    days[index].stats.add(day)
                    total.add(day)
                }
            }
            var perApplication: [(Application, CallStatsBucket)] = []
            var costPerDay: [UInt64: [Int64]] = [:]
            for application in try visibleApplications(viewer: viewer, txn: txn) {
                var stats = CallStatsBucket()
                var cost = [Int64](repeating: 0, count: days.count)
                for scope in scopes {
                    for index in days.indices {
                        var day = CallStatsBucket()
                        try database.callStats.scan(
                            txn, .halfOpen(from: (scope, application.id, boundaries[index]),
                                           below: (scope, application.id, boundaries[index + 1]))
                        ) { _, bucket in
                            day.add(bucket)
                            return true
                        }
                        stats.add(day)
                        cost[index] = cost[index].addingReportingOverflow(day.costMicros).partialValue
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

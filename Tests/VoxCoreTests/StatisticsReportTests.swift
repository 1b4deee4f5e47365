import Foundation
import Testing
@testable import VoxCore

/// The report against counting the calls one by one, by their local day in a zone: over a
/// change of offset (New York's in March, Lord Howe's half hour in April, Kathmandu's
/// quarter), for the admin (every owner) and an operator, per application and per day.
@Suite struct StatisticsReportTests {
    @Test(arguments: ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
    func reportAgreesWithCountingTheCalls(_ zoneName: String) throws {
        let zone = try #require(TimeZone(identifier: zoneName))
        let f = try CallFixture()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        // 40 days around both offset changes of 2026 (New York: 8 March; Lord Howe: 5 April).
        let first = calendar.startOfDay(for: Date(timeIntervalSince1970: 1_772_000_000))  // late February
        let last = calendar.date(byAdding: .day, value: 45, to: first)!
        var random = SplitMix(seed: 21)
        var calls: [Call] = []
        let span = last.timeIntervalSince(first) + 2 * 86_400
        for _ in 0..<1_500 {
            let start = first.addingTimeInterval(-86_400 + Double(random.next() % UInt64(span)))
            let owner = random.next() % 3 == 0 ? f.bob : f.alice
            var call = f.call(owner: owner, at: start, status: CallStatus.allCases[Int(random.next() % 5)],
                              duration: Int(random.next() % 600), cost: Int64(random.next() % 1_000_000))
            if random.next() % 7 == 0 { call.applicationID = 0 }  // synced from an application not made here
            calls.append(call)
        }
        try f.insert(calls)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd"
        for viewer in [f.admin!, f.alice!] {
            let report = try StatisticsQueries(database: f.database).report(viewer: viewer, firstDay: first, lastDay: last, timeZone: zone)
            let end = calendar.date(byAdding: .day, value: 1, to: last)!
            let seen = calls.filter { $0.startedAt >= first && $0.startedAt < end && viewer.visibility.allows(owner: $0.ownerUserID) }
            var expectedDays: [String] = []
            var day = first
            while day < end {
                expectedDays.append(formatter.string(from: day))
                day = calendar.date(byAdding: .day, value: 1, to: day)!
            }
            #expect(report.days.map(\.day) == expectedDays)
            let byDay = Dictionary(grouping: seen) { formatter.string(from: $0.startedAt) }
            #expect(report.days.map(\.stats.total) == expectedDays.map { Int64(byDay[$0]?.count ?? 0) }, "\(zoneName)")
            #expect(report.days.map(\.stats.costMicros) == expectedDays.map { d in byDay[d]?.reduce(0) { $0 + $1.cost!.micros } ?? 0 })
            #expect(report.days.map { $0.stats.count(.failed) } == expectedDays.map { d in Int64(byDay[d]?.filter { $0.status == .failed }.count ?? 0) })
            #expect(report.total.total == Int64(seen.count))
            for entry in report.perApplication {
                let own = seen.filter { $0.applicationID == entry.application.id }
                #expect(entry.stats.total == Int64(own.count))
                #expect(entry.stats.answeredDurationSeconds == Int64(own.filter { $0.status == .answered }.reduce(0) { $0 + $1.durationSeconds }))
                let ownByDay = Dictionary(grouping: own) { formatter.string(from: $0.startedAt) }
                #expect(report.costPerDayByApplication[entry.application.id] == expectedDays.map { d in ownByDay[d]?.reduce(0) { $0 + $1.cost!.micros } ?? 0 })
            }
            #expect(report.unlinked.total == Int64(seen.filter { $0.applicationID == 0 }.count))
        }
    }
}

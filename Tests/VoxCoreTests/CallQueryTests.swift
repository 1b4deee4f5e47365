import Foundation
import Testing
@testable import VoxCore

@Suite struct CallQueryTests {
    @Test func numberSearchFindsAnyFormatBeginningAndEnd() throws {
        let f = try CallFixture()
        try f.insert([
            f.call(at: base, from: "+7 (999) 123-45-67", to: "+7 495 000-00-00"),
            f.call(at: base + 1, from: "+44 20 7946 0958", to: "+7 495 000-00-00"),
            f.call(at: base + 2, from: "+7 916 765-43-21", to: "+7 495 000-00-00"),
        ])
        func found(_ typed: String) throws -> [String] {
            try f.queries.page(viewer: f.alice, filter: CallFilter(number: typed)).calls.map(\.fromNumber)
        }
        #expect(try found("+7 (999) 123-45-67") == ["+7 (999) 123-45-67"])
        #expect(try found("79991234567") == ["+7 (999) 123-45-67"])
        #expect(try found("8 999 123 45 67") == ["+7 (999) 123-45-67"])
        #expect(try found("+7999") == ["+7 (999) 123-45-67"])
        #expect(try found("7999123") == ["+7 (999) 123-45-67"])
        #expect(try found("4567") == ["+7 (999) 123-45-67"])
        #expect(try found("45-67") == ["+7 (999) 123-45-67"])
        #expect(try found("442079460958") == ["+44 20 7946 0958"])
        #expect(try found("0958") == ["+44 20 7946 0958"])
        #expect(try found("67") == ["+7 (999) 123-45-67"])
        // The "to" side is searched as well.
        #expect(try found("74950000000").count == 3)
        #expect(try found("1111").isEmpty)
        #expect(try f.queries.count(viewer: f.alice, filter: CallFilter(number: "4950000000")) == 3)
    }

    /// Numbers that differ only in the first digit of a piece are different facets (schema 5
    /// and before packed that digit over the piece's own byte, so 0–3 there were one).
    @Test func piecesDifferingInTheirFirstDigitAreApart() throws {
        let f = try CallFixture()
        for first in 0...9 {
            try f.insert([f.call(at: base + Double(first), from: "+7916000\(first)109", to: "+\(first)2345678901")])
        }
        for first in 0...9 {
            #expect(try f.queries.page(viewer: f.alice, filter: CallFilter(number: "\(first)109")).calls.count == 1, "\(first)109")
            #expect(try f.queries.count(viewer: f.alice, filter: CallFilter(number: "\(first)109")) == 1)
            #expect(try f.queries.page(viewer: f.alice, filter: CallFilter(number: "\(first)234")).calls.count == 1, "\(first)234 first4")
            #expect(try f.queries.page(viewer: f.alice, filter: CallFilter(number: "\(first)234567")).calls.count == 1, "first7")
        }
    }

    @Test func dateRangeAtTimeZoneBoundary() throws {
        let f = try CallFixture()
        let moscow = TimeZone(identifier: "Europe/Moscow")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = moscow
        let midnight = calendar.date(from: DateComponents(year: 2026, month: 3, day: 10))!
        // 23:59:59 on the 9th and 00:00:00 on the 10th, Moscow time (20:59:59 / 21:00 UTC).
        try f.insert([f.call(at: midnight - 1), f.call(at: midnight), f.call(at: midnight + 86_399), f.call(at: midnight + 86_400)])
        let tenth = CallFilter(from: midnight, to: calendar.date(byAdding: .day, value: 1, to: midnight))
        let calls = try f.queries.page(viewer: f.alice, filter: tenth).calls
        #expect(calls.map(\.startedAt) == [midnight + 86_399, midnight])
        #expect(try f.queries.count(viewer: f.alice, filter: tenth) == 2)
        let report = try StatisticsQueries(database: f.database).report(
            viewer: f.alice, firstDay: midnight - 3600, lastDay: midnight, timeZone: moscow)
        #expect(report.days.map(\.day) == ["2026-03-09", "2026-03-10"])
        #expect(report.days.map(\.stats.total) == [1, 2])
    }

    /// Over three days most index minutes hold one call; over ten minutes each holds about 90,
    /// inserted in no particular order of start, with ties to the second and to the quarter.
    @Test(arguments: [3 * 86_400, 600])
    func countsAgreeWithBruteForce(span: Int) throws {
        // Random calls, of Alice, of Bob and of nobody; every count and listing must equal
        // filtering the full list, for Alice and for the admin (who merges owners).
        let f = try CallFixture()
        var generator = SplitMix(seed: 7)
        var calls: [Call] = []
        for _ in 0..<900 {
            let start = base + Double(Int.random(in: 0..<span, using: &generator)) + Double(Int.random(in: 0..<4, using: &generator)) / 4
            let status = CallStatus.allCases.randomElement(using: &generator)!
            // Every third number has random digits in the middle, so that a piece longer than
            // a facet's (5 or 6 digits) matches some of the calls in that facet and not others.
            let middle = Int.random(in: 0..<3, using: &generator) == 0 ? Int.random(in: 100...999, using: &generator) : 0
            let number = "+7 9\(Int.random(in: 10...12, using: &generator)) \(String(format: "%03d", middle))-00-0\(Int.random(in: 0...9, using: &generator))"
            let owner = Int.random(in: 0..<3, using: &generator)
            var call = f.call(owner: owner == 1 ? f.bob : f.alice, at: start, from: number, status: status,
                              duration: Int.random(in: 0...300, using: &generator))
            if owner == 2 { call.ownerUserID = 0 }
            calls.append(call)
        }
        let ids = try f.insert(calls).map(\.callID)
        let idOf = Dictionary(uniqueKeysWithValues: zip(calls.map(\.voximplantSessionID), ids))
        let filters: [CallFilter] = [
            CallFilter(),
            CallFilter(from: base + 3_601, to: base + 86_400 + 17),
            CallFilter(from: base + 100, to: base + 400),
            // Whole index minutes (base is 20 s into one), and a quarter second off them.
            CallFilter(from: base + 40, to: base + 220),
            CallFilter(from: base + 40.25, to: base + 219.75, statuses: [.answered]),
            CallFilter(from: base + 7_000),
            CallFilter(to: base + 50_000),
            CallFilter(from: base + 3_601, to: base + 186_400, statuses: [.failed, .busy]),
            CallFilter(statuses: [.noAnswer]),
            CallFilter(number: "0000005"),
            // Longer than a 4-digit piece, shorter than 7: the streams check the numbers.
            CallFilter(number: String(calls[1].fromDigits.prefix(6))),
            CallFilter(number: String(calls[1].fromDigits.suffix(6))),
            CallFilter(number: "7910"),
            CallFilter(from: base, to: base + 86_400, statuses: [.answered], number: "7911"),
        ]
        for filter in filters {
            let matching = calls.filter { call in
                (filter.from.map { call.startedAt >= $0 } ?? true) && (filter.to.map { call.startedAt < $0 } ?? true)
                    && (filter.statuses.isEmpty || filter.statuses.contains(call.status))
                    && (filter.number.map { n in
                        let d = PhoneNumber.digits(n)
                        return [call.fromDigits, call.toDigits].contains { $0.hasPrefix(d) || $0.hasSuffix(d) }
                    } ?? true)
            }
            for (viewer, expected) in [(f.alice!, matching.filter { $0.ownerUserID == f.alice.id }), (f.admin!, matching)] {
                #expect(try f.queries.count(viewer: viewer, filter: filter) == expected.count, "\(viewer.email) \(filter)")
                var listed: [UInt64] = []
                try f.queries.forEach(viewer: viewer, filter: filter, chunk: 37) { listed.append($0.id) }
                let expectedOrder = expected.map { ($0.startMicros, idOf[$0.voximplantSessionID]!) }.sorted { $0 > $1 }.map(\.1)
                #expect(listed == expectedOrder, "\(viewer.email) \(filter)")
            }
        }
    }

    @Test func pagesBackAndForth() throws {
        let f = try CallFixture()
        try f.insert((0..<25).map { f.call(at: base + Double($0)) })
        let first = try f.queries.page(viewer: f.alice, filter: CallFilter(), limit: 10)
        #expect(first.newerCursor == nil)
        let second = try f.queries.page(viewer: f.alice, filter: CallFilter(), cursor: first.olderCursor, limit: 10)
        let third = try f.queries.page(viewer: f.alice, filter: CallFilter(), cursor: second.olderCursor, limit: 10)
        #expect(third.calls.count == 5)
        #expect(third.olderCursor == nil)
        let back = try f.queries.page(viewer: f.alice, filter: CallFilter(), cursor: third.newerCursor, direction: .newer, limit: 10)
        #expect(back.calls.map(\.id) == second.calls.map(\.id))
        let backAgain = try f.queries.page(viewer: f.alice, filter: CallFilter(), cursor: back.newerCursor, direction: .newer, limit: 10)
        #expect(backAgain.calls.map(\.id) == first.calls.map(\.id))
        #expect(backAgain.newerCursor == nil)
        #expect(CallCursor(first.olderCursor!.description) == first.olderCursor)
    }

    @Test func paginationIsStableWhileCallsArrive() throws {
        // A writer keeps inserting calls, newer and older than the reader's position, while
        // the reader pages through: every call that existed at the start is seen exactly once.
        let f = try CallFixture()
        let initial = try f.insert((0..<300).map { f.call(at: base + Double($0) * 10) }).map(\.callID)
        let stop = Flag()
        let store = f.store
        let owner = f.alice!
        let appID = f.aliceApp.id
        let writer = Thread {
            var n: UInt64 = 0
            while !stop.isSet {
                n += 1
                let offset = n % 2 == 0 ? 10_000 + Double(n) : Double(n) * 10 + 5
                _ = try? store.upsert([Call(ownerUserID: owner.id, accountID: 1, applicationID: appID,
                                            voximplantSessionID: 900_000 + n, direction: .outbound, fromNumber: "+1", toNumber: "+2",
                                            startedAt: base + offset, status: .answered)])
            }
        }
        writer.start()
        var seen: [UInt64] = []
        var cursor: CallCursor?
        repeat {
            let page = try f.queries.page(viewer: f.alice, filter: CallFilter(), cursor: cursor, limit: 7)
            seen += page.calls.map(\.id)
            cursor = page.olderCursor
            Thread.sleep(forTimeInterval: 0.001)
        } while cursor != nil
        stop.set()
        #expect(Set(seen).count == seen.count, "no call repeated")
        #expect(Set(initial).isSubset(of: Set(seen)), "no call skipped")
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}


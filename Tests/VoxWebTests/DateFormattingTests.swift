import Foundation
import Testing
import VoxCore
@testable import VoxWeb

/// The pages' dates are computed, not formatted by DateFormatter (see `CivilTime`): they
/// must say what DateFormatter and Calendar say, in zones with odd offsets and changes.
@Suite struct DateFormattingTests {
    static let zones = ["UTC", "Europe/Moscow", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe",
                        "Pacific/Kiritimati", "America/St_Johns", "Europe/London"]

    @Test(arguments: zones)
    func datesMatchFoundation(_ zoneName: String) throws {
        let zone = try #require(TimeZone(identifier: zoneName))
        var random = SplitMix(seed: UInt64(zoneName.utf8.count))
        let low = Time.accepted.lowerBound.timeIntervalSince1970, high = Time.accepted.upperBound.timeIntervalSince1970
        for language in Language.allCases {
            let formatting = Formatting(timeZone: zone, catalog: .of(language))
            let full = DateFormatter(), day = DateFormatter()
            full.locale = language.locale
            full.timeZone = zone
            full.dateFormat = "d MMM yyyy, HH:mm:ss"
            day.locale = Locale(identifier: "en_US_POSIX")
            day.timeZone = zone
            day.dateFormat = "yyyy-MM-dd"
            for _ in 0..<3_000 {
                let date = Date(timeIntervalSince1970: (low + Double(random.next() % UInt64(high - low))).rounded(.down) + 0.25)
                #expect(formatting.dateTime(date) == full.string(from: date), "\(zoneName) \(date)")
                #expect(formatting.day(date) == day.string(from: date), "\(zoneName) \(date)")
            }
        }
    }

    @Test(arguments: zones)
    func dayStartsMatchCalendar(_ zoneName: String) throws {
        let zone = try #require(TimeZone(identifier: zoneName))
        let formatting = Formatting(timeZone: zone)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let reader = DateFormatter()
        reader.locale = Locale(identifier: "en_US_POSIX")
        reader.timeZone = zone
        reader.dateFormat = "yyyy-MM-dd"
        // Every day of three years, the changes of offset among them.
        var day = try #require(reader.date(from: "2025-01-01"))
        for _ in 0..<(3 * 366) {
            let text = reader.string(from: day)
            #expect(formatting.startOfDay(text) == calendar.startOfDay(for: day), "\(zoneName) \(text)")
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        for bad in ["2026-02-30", "2026-13-01", "2026-00-10", "2026-1-050", "+026-01-01", "2026/01/01", "２０２６-01-01", "1960-01-01"] {
            #expect(formatting.startOfDay(bad) == nil, "\(bad)")
        }
        #expect(formatting.startOfDay("2028-02-29") != nil)
    }
}

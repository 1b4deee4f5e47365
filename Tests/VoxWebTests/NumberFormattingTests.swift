import Foundation
import Testing
import VoxCore
@testable import VoxWeb

/// The pages' number formatters are written by hand for speed (see `Formatting.grouped`):
/// they must write what Foundation's formatters they replaced wrote, which stay here as the
/// reference.
@Suite struct NumberFormattingTests {
    /// The references: printf for the decimals (NumberFormatter on this Foundation ignores
    /// its fraction-digit settings: 1.234567 with two digits comes out as "1.234567", which
    /// the pages showed before), NumberFormatter for the grouping of whole numbers.
    static func printf(_ micros: Int64, _ digits: Int) -> String {
        String(format: "%.\(digits)f", Double(micros) / 1_000_000)
    }

    static func grouping(_ value: Int64) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.groupingSeparator = "\u{202F}"
        formatter.usesGroupingSeparator = true
        return formatter.string(from: NSNumber(value: value))!
    }

    @Test func groupedMatchesPrintfAndNumberFormatter() {
        var random = SplitMix(seed: 5)
        // Amounts a Double holds exactly enough that rounding sees the same value (below 2^53
        // micros), and not on a tie, where the Double's binary value decides for printf.
        var samples: [Int64] = [0, 1, 999, 1_000, 999_999, 1_000_000, 1_234_567, -1_234_567, 12_345_678_901, 999_999_999_999]
        for _ in 0..<20_000 { samples.append(Int64(random.next() % 20_000_000_000_000) - 10_000_000_000_000) }
        for micros in samples {
            for digits in [0, 2, 4] {
                let step = UInt64(1_000_000 / Int(pow(10, Double(digits))))
                guard micros.magnitude % step * 2 != step else { continue }
                let ours = Formatting.grouped(micros: micros, fractionDigits: digits)
                var expected = Self.printf(micros, digits)
                if expected.hasPrefix("-") && expected.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { expected.removeFirst() }
                #expect(ours.replacingOccurrences(of: "\u{202F}", with: "") == expected, "\(micros) with \(digits)")
                let whole = ours.split(separator: ".")[0]
                #expect(whole == Self.grouping(Int64(expected.split(separator: ".")[0])!).replacingOccurrences(of: "-0", with: "0"),
                        "\(micros) with \(digits)")
            }
        }
        #expect(Formatting.count(1_234_567) == "1\u{202F}234\u{202F}567")
        #expect(Formatting.count(.max) == "9\u{202F}223\u{202F}372\u{202F}036\u{202F}854\u{202F}775\u{202F}807")
        #expect(Formatting.count(.min) == "-9\u{202F}223\u{202F}372\u{202F}036\u{202F}854\u{202F}775\u{202F}808")
        // Ties go to the even neighbour.
        #expect(Formatting.grouped(micros: 2_125_000, fractionDigits: 2) == "2.12")
        #expect(Formatting.grouped(micros: 2_135_000, fractionDigits: 2) == "2.14")
        #expect(Formatting.grouped(micros: -4_000, fractionDigits: 2) == "0.00")
    }

    @Test func moneyAndDurationsAsBefore() {
        #expect(Formatting.amount(micros: 1_234_500_000, currency: "RUB") == "1\u{202F}234.50 ₽")
        #expect(Formatting.amount(micros: 12_300, currency: "USD") == "$0.0123")
        #expect(Formatting.amount(micros: -2_000_000, currency: "EUR") == "€-2.00")
        #expect(Formatting.amount(micros: 5_000_000, currency: "KZT") == "5.00 KZT")
        let russian = Formatting(timeZone: .gmt, catalog: .russian)
        #expect(russian.money(Money(micros: 1_234_500_000, currency: "RUB")) == "1\u{202F}234,50 ₽")
        #expect(russian.percent(1, of: 8) == "12,5%")
        #expect(Formatting(timeZone: .gmt).money(nil) == "—")
        #expect(Formatting.clamped(1e30) == .max && Formatting.clamped(-1e30) == .min && Formatting.clamped(.nan) == 0)
        for seconds in [0, 5, 59, 60, 61, 599, 3_599, 3_600, 3_661, 86_399, 360_000, -3] {
            let s = max(0, seconds)
            let expected = s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s % 3600 / 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
            #expect(Formatting.duration(seconds) == expected)
        }
    }

    @Test func oneDecimalMatchesPrintfOffTies() {
        var random = SplitMix(seed: 9)
        for _ in 0..<20_000 {
            let value = Double(Int64(random.next() % 2_000_000_000) - 1_000_000_000) / 997
            let tenths = value * 10
            guard abs(tenths - tenths.rounded(.down) - 0.5) > 1e-6, abs(value) >= 0.05 else { continue }
            #expect(Formatting.oneDecimal(value) == String(format: "%.1f", value), "\(value)")
        }
        #expect(Formatting.percent(1, of: 3) == "33.3%")
        #expect(Formatting.percent(2, of: 3) == "66.7%")
        #expect(Formatting.percent(0, of: 0) == "—")
    }
}

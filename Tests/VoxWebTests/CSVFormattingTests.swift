import Foundation
import Testing
@testable import VoxCore
@testable import VoxWeb

/// The CSV export's own formatters write exactly what Foundation's did (the file's format is
/// read by scripts), over the whole range of times a call can have.
@Suite struct CSVFormattingTests {
    @Test func isoTimesMatchISO8601DateFormatter() {
        let iso = ISO8601DateFormatter()
        var random = SplitMix(seed: 11)
        let low = Time.micros(Time.accepted.lowerBound), high = Time.micros(Time.accepted.upperBound)
        var samples: [UInt64] = [low, high - 1, 951_782_400_000_000 /* 2000-02-29 */, 4_107_542_400_000_000 /* 2100-03-01 */]
        for _ in 0..<20_000 { samples.append(low + random.next() % (high - low)) }
        for micros in samples {
            #expect(Formatting.isoUTC(micros: micros) == iso.string(from: Date(timeIntervalSince1970: Double(micros / 1_000_000))), "\(micros)")
        }
    }

    @Test func amountsMatchPrintf() {
        for micros: Int64 in [0, 1, -1, 999_999, 1_000_000, -1_500_000, 3_800_000, 123_456_789_012, -7] {
            #expect(Formatting.decimal(micros: micros) == String(format: "%.6f", Double(micros) / 1_000_000), "\(micros)")
        }
        #expect(Formatting.decimal(micros: .min) == "-9223372036854.775808")
    }

    @Test func plainFieldsPassAndOthersAreGuarded() {
        #expect(CallsPage.csvField("Support line") == "Support line")
        #expect(CallsPage.csvField("+79991234567") == "+79991234567")
        #expect(CallsPage.csvField("=cmd") == "'=cmd")
        #expect(CallsPage.csvField("a,=b") == "\"a,'=b\"")
        #expect(CallsPage.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
    }
}

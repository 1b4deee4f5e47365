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

    /// The export's byte-level row is the fields through `csvField`, joined: the rule stays one.
    @Test func rowsAreTheirFieldsGuardedAndJoined() {
        var random = SplitMix(seed: 3)
        let texts = ["", "+79991234567", "=HYPERLINK(\"x\")", "a,b", "semi;colon", "-5", "@x", "line\nbreak", "quote\"d",
                     "Отдел продаж", "\tTab", "+1 (555) 010-9999", "conv_01J"]
        let names: [UInt64: String] = [1: "Support", 2: "=cmd;+x", 3: "Продажи, Москва"]
        for index in 0..<2_000 {
            func text() -> String { texts[Int(random.next() % UInt64(texts.count))] }
            let call = Call(
                id: random.next() % 1_000_000_000, ownerUserID: 1, accountID: 1, applicationID: random.next() % 4,
                voximplantSessionID: random.next(), conversationID: index % 3 == 0 ? nil : text(),
                direction: index % 2 == 0 ? .inbound : .outbound, fromNumber: text(), toNumber: text(),
                startedAt: Date(timeIntervalSince1970: Double(1_700_000_000 + random.next() % 100_000_000)),
                durationSeconds: Int(random.next() % 10_000),
                cost: index % 4 == 0 ? nil : Money(micros: Int64(random.next() % 10_000_000_000) - 5_000_000_000, currency: index % 5 == 0 ? text() : "RUB"),
                status: CallStatus.allCases[Int(random.next() % UInt64(CallStatus.allCases.count))],
                hasTranscript: index % 2 == 1)
            let fields: [String] = [
                String(call.id), Formatting.isoUTC(micros: call.startMicros), call.direction.rawValue, call.fromNumber,
                call.toNumber, String(call.durationSeconds), call.status.name,
                call.cost.map { Formatting.decimal(micros: $0.micros) } ?? "", call.cost?.currency ?? "",
                names[call.applicationID] ?? "", String(call.voximplantSessionID), call.conversationID ?? "",
                call.hasTranscript ? "yes" : "no",
            ]
            #expect(CallsPage.csvRow(call, names: names) == fields.map(CallsPage.csvField).joined(separator: ",") + "\r\n")
        }
    }

    @Test func plainFieldsPassAndOthersAreGuarded() {
        #expect(CallsPage.csvField("Support line") == "Support line")
        #expect(CallsPage.csvField("+79991234567") == "+79991234567")
        #expect(CallsPage.csvField("=cmd") == "'=cmd")
        #expect(CallsPage.csvField("a,=b") == "\"a,'=b\"")
        #expect(CallsPage.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
    }
}

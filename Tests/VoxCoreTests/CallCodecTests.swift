import Foundation
import Testing
@testable import VoxCore

@Suite struct CallCodecTests {
    func codecRoundTrip(_ call: Call) throws -> Call {
        try CallCodec.encode(call).withUnsafeBytes { try CallCodec.decode($0) }
    }

    @Test func everyFieldRoundTrips() throws {
        let full = Call(id: 9, ownerUserID: 2, accountID: 3, applicationID: 4, voximplantSessionID: 123_456_789,
                        conversationID: "conv_Ж", direction: .outbound, fromNumber: "+7 (999) 123-45-67", toNumber: "",
                        startedAt: Date(timeIntervalSince1970: 1_790_000_000.123456), endedAt: Date(timeIntervalSince1970: 1_790_000_100),
                        durationSeconds: 100, cost: Money(micros: -5, currency: "RUB"), status: .noAnswer, finishReason: "Busy",
                        recordingURL: "https://example.com/r.mp3",
                        recording: RecordingRef(key: "recs/a b+c.mp3", size: 1 << 40, contentType: "audio/mpeg", sha256: "ab"),
                        hasTranscript: true)
        #expect(try codecRoundTrip(full) == full)
        // What upserts compare with: the stored form without a codec round trip.
        #expect(try full.roundTripped() == codecRoundTrip(full))
        let sparse = Call(ownerUserID: 1, accountID: 1, applicationID: 1, voximplantSessionID: 1, direction: .inbound,
                          fromNumber: "1", toNumber: "2", startedAt: Date(timeIntervalSince1970: 0), status: .inProgress)
        #expect(try codecRoundTrip(sparse) == sparse)
    }

    @Test func subMicrosecondTimesDoNotBreakIdempotence() throws {
        let f = try CallFixture()
        let call = f.call(at: Date(timeIntervalSince1970: 1_790_000_000.1234567891), session: 77)
        let results = try f.insert([call, call])
        #expect(results[1] == .unchanged(results[0].callID))
    }

    @Test func truncatedRecordIsAnError() throws {
        let bytes = CallCodec.encode(Call(ownerUserID: 1, accountID: 1, applicationID: 1, voximplantSessionID: 1, direction: .inbound,
                                          fromNumber: "1", toNumber: "2", startedAt: Date(), status: .answered))
        #expect(throws: (any Error).self) { try bytes.dropLast(3).withUnsafeBytes { try CallCodec.decode($0) } }
    }
}

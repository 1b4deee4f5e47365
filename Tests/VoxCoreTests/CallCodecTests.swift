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
                        recording: RecordingRef(store: "s3", key: "recs/a b+c.mp3", size: 1 << 40, contentType: "audio/mpeg", sha256: "ab"),
                        hasTranscript: true,
                        costBreakdown: CostBreakdown(telephonyMicros: 1_900_000, recordingMicros: 100_000, otherMicros: -7),
                        recordingNote: "Voximplant refused the download; this is ElevenLabs’ audio")
        var seen = full
        seen.sources = [.webhook, .history]
        #expect(try codecRoundTrip(seen).sources == [.webhook, .history])
        #expect(try codecRoundTrip(full) == full)
        // What upserts compare with: the stored form without a codec round trip.
        #expect(try full.roundTripped() == codecRoundTrip(full))
        let sparse = Call(ownerUserID: 1, accountID: 1, applicationID: 1, voximplantSessionID: 1, direction: .inbound,
                          fromNumber: "1", toNumber: "2", startedAt: Date(timeIntervalSince1970: 0), status: .inProgress)
        #expect(try codecRoundTrip(sparse) == sparse)
    }

    /// Calls written before recordings named their store still read, as local-disk recordings.
    @Test func versionOneRecordsStillDecode() throws {
        let call = Call(id: 5, ownerUserID: 1, accountID: 1, applicationID: 1, voximplantSessionID: 1, direction: .inbound,
                        fromNumber: "1", toNumber: "2", startedAt: Date(timeIntervalSince1970: 1_790_000_000), status: .answered,
                        recording: RecordingRef(store: "local", key: "k.mp3", size: 3, contentType: "audio/mpeg", sha256: "cd"),
                        hasTranscript: true)
        var bytes = CallCodec.encode(call)
        // Version 4 is version 5 without the sources byte at the end: it reads as seen nowhere.
        var webhook = call
        webhook.sources = .webhook
        #expect(CallCodec.encode(webhook).last == CallSources.webhook.rawValue)
        bytes.removeLast()
        bytes[0] = 4
        #expect(try bytes.withUnsafeBytes { try CallCodec.decode($0) } == call)
        // Version 3 is version 4 without the recording note's flag (0: none) at the end.
        #expect(bytes.last == 0)
        bytes.removeLast()
        bytes[0] = 3
        #expect(try bytes.withUnsafeBytes { try CallCodec.decode($0) } == call)
        // Version 2 is version 3 without the cost breakdown's flag (0: none) at the end.
        #expect(bytes.last == 0)
        bytes.removeLast()
        bytes[0] = 2
        #expect(try bytes.withUnsafeBytes { try CallCodec.decode($0) } == call)
        // Version 1 is version 2 without the store name (u16 length + "local") in the recording.
        let storeName: [UInt8] = [0, 5] + Array("local".utf8)
        let at = try #require((0...(bytes.count - storeName.count)).first { Array(bytes[$0..<($0 + storeName.count)]) == storeName })
        bytes.removeSubrange(at..<(at + storeName.count))
        bytes[0] = 1
        #expect(try bytes.withUnsafeBytes { try CallCodec.decode($0) } == call)
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

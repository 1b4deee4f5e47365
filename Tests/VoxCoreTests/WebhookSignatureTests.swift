import Foundation
import Testing
import VoxCore

@Suite struct WebhookSignatureTests {
    let body = Array(#"{"type":"post_call_transcription","event_timestamp":1739537297,"data":{"conversation_id":"conv_1"}}"#.utf8)
    let secret = "wsec_8f6c1a"
    let sentAt = Date(timeIntervalSince1970: 1_739_537_297)
    /// Computed with the official SDK's algorithm (Python's hmac over "t.body", hex).
    let official = "t=1739537297,v0=6863c4554ecfd1c608c313b379e907cb7ed5e95c3e4a6376f8eb2d00f853b0b7"

    @Test func officialVectorPasses() throws {
        try ElevenLabsSignature.verify(header: official, body: body, secret: secret, now: sentAt + 60)
        #expect(ElevenLabsSignature.header(body: body, secret: secret, timestamp: 1_739_537_297) == official)
        // Order and spaces in the header do not matter.
        let reordered = "v0=6863c4554ecfd1c608c313b379e907cb7ed5e95c3e4a6376f8eb2d00f853b0b7, t=1739537297"
        try ElevenLabsSignature.verify(header: reordered, body: body, secret: secret, now: sentAt)
    }

    @Test func everyWayToFail() {
        func failure(_ header: String?, body: [UInt8]? = nil, secret: String? = nil, now: Date? = nil) -> ElevenLabsSignature.Failure? {
            do {
                try ElevenLabsSignature.verify(header: header, body: body ?? self.body, secret: secret ?? self.secret, now: now ?? sentAt)
                return nil
            } catch { return error as? ElevenLabsSignature.Failure }
        }
        #expect(failure(official, secret: "wrong") == .mismatch)
        #expect(failure(official, body: body + [0x20]) == .mismatch)
        #expect(failure(official, now: sentAt + 30 * 60 + 1) == .stale)
        #expect(failure(official, now: sentAt - 5 * 60 - 1) == .fromTheFuture)
        #expect(failure(nil) == .missingHeader)
        #expect(failure("") == .missingHeader)
        #expect(failure("t=1739537297") == .malformed)
        #expect(failure("v1=abc,t=1739537297") == .malformed)
        #expect(failure("t=1739537297,v0=zz") == .mismatch)
        #expect(failure(official, now: sentAt + 30 * 60 - 1) == nil)
    }
}

import Foundation
import KVStore

/// Calls in a compact binary form. A page of Call History decodes 50 of them, so this is on
/// the hot path: JSON took ~20 µs a call, this takes well under one.
///
/// Layout: a version byte, then the fields in declaration order; strings as u16 length +
/// UTF-8; optionals behind a 0/1 byte; times as Int64 microseconds. A change bumps the
/// version byte, and `decode` keeps reading every older version.
/// - 1: the first layout.
/// - 2: the recording names its store (version 1 recordings are on local disk).
/// - 3: the cost's breakdown, at the end.
/// - 4: the recording note, at the end.
/// - 5: where the call was seen (`CallSources`), one byte at the end.
public enum CallCodec: ValueCodec {
    static let version: UInt8 = 5

    public static func encode(_ call: Call) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(160)
        b.append(version)
        b.appendBigEndian(call.id)
        b.appendBigEndian(call.ownerUserID)
        b.appendBigEndian(call.accountID)
        b.appendBigEndian(call.applicationID)
        b.appendBigEndian(call.voximplantSessionID)
        b.appendOptionalString(call.conversationID)
        b.append(call.direction == .inbound ? 0 : 1)
        b.appendString(call.fromNumber)
        b.appendString(call.toNumber)
        b.appendBigEndian(micros(call.startedAt))
        b.append(call.endedAt == nil ? 0 : 1)
        if let ended = call.endedAt { b.appendBigEndian(micros(ended)) }
        b.appendBigEndian(Int64(call.durationSeconds))
        b.append(call.cost == nil ? 0 : 1)
        if let cost = call.cost {
            b.appendBigEndian(cost.micros)
            b.appendString(cost.currency)
        }
        b.append(call.status.rawValue)
        b.appendOptionalString(call.finishReason)
        b.appendOptionalString(call.recordingURL)
        b.append(call.recording == nil ? 0 : 1)
        if let recording = call.recording {
            b.appendString(recording.store)
            b.appendString(recording.key)
            b.appendBigEndian(recording.size)
            b.appendString(recording.contentType)
            b.appendString(recording.sha256)
        }
        b.append(call.hasTranscript ? 1 : 0)
        b.append(call.costBreakdown == nil ? 0 : 1)
        if let split = call.costBreakdown {
            b.appendBigEndian(split.telephonyMicros)
            b.appendBigEndian(split.recordingMicros)
            b.appendBigEndian(split.otherMicros)
        }
        b.appendOptionalString(call.recordingNote)
        b.append(call.sources.rawValue)
        return b
    }

    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> Call {
        var r = ByteReader(raw)
        let layout = try r.readBigEndian(UInt8.self)
        guard (1...5).contains(layout) else { throw CodecError.truncated(needed: 1, available: 0) }
        let id = try r.readBigEndian(UInt64.self)
        let owner = try r.readBigEndian(UInt64.self)
        let account = try r.readBigEndian(UInt64.self)
        let application = try r.readBigEndian(UInt64.self)
        let session = try r.readBigEndian(UInt64.self)
        let conversation = try r.readOptionalString()
        let direction: Direction = try r.readBigEndian(UInt8.self) == 0 ? .inbound : .outbound
        let from = try r.readString()
        let to = try r.readString()
        let started = date(try r.readBigEndian(Int64.self))
        let ended = try r.readBigEndian(UInt8.self) == 0 ? nil : date(try r.readBigEndian(Int64.self))
        let duration = Int(try r.readBigEndian(Int64.self))
        var cost: Money?
        if try r.readBigEndian(UInt8.self) != 0 {
            let amount = try r.readBigEndian(Int64.self)
            cost = Money(micros: amount, currency: try r.readString())
        }
        guard let status = CallStatus(rawValue: try r.readBigEndian(UInt8.self)) else {
            throw CodecError.truncated(needed: 1, available: 0)
        }
        let finishReason = try r.readOptionalString()
        let recordingURL = try r.readOptionalString()
        var recording: RecordingRef?
        if try r.readBigEndian(UInt8.self) != 0 {
            let store = layout >= 2 ? try r.readString() : RecordingRef.localStore
            let key = try r.readString()
            let size = try r.readBigEndian(Int64.self)
            let type = try r.readString()
            recording = RecordingRef(store: store, key: key, size: size, contentType: type, sha256: try r.readString())
        }
        let hasTranscript = try r.readBigEndian(UInt8.self) != 0
        var split: CostBreakdown?
        if layout >= 3, try r.readBigEndian(UInt8.self) != 0 {
            split = CostBreakdown(telephonyMicros: try r.readBigEndian(Int64.self), recordingMicros: try r.readBigEndian(Int64.self),
                                  otherMicros: try r.readBigEndian(Int64.self))
        }
        let note = layout >= 4 ? try r.readOptionalString() : nil
        let sources = layout >= 5 ? CallSources(rawValue: try r.readBigEndian(UInt8.self)) : []
        var call = Call(
            id: id, ownerUserID: owner, accountID: account, applicationID: application, voximplantSessionID: session,
            conversationID: conversation, direction: direction, fromNumber: from, toNumber: to, startedAt: started,
            endedAt: ended, durationSeconds: duration, cost: cost, status: status, finishReason: finishReason,
            recordingURL: recordingURL, recording: recording, hasTranscript: hasTranscript, costBreakdown: split,
            recordingNote: note)
        call.sources = sources
        return call
    }

    /// Whole microseconds, so that a decoded call equals the one encoded (upserts compare).
    /// Saturating, like `Time.micros` (inputs are range-checked where they come in).
    static func micros(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard !value.isNaN else { return 0 }
        return value >= 9_223_372_036_854_775_807 ? .max : value <= -9_223_372_036_854_775_808 ? .min : Int64(value)
    }
    static func date(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}

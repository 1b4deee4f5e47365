import Foundation
import KVStore

/// The one secondary-index table of calls. Every entry's key has the same shape,
///
///     scope | facet | startMicros | callID        (four big-endian UInt64)
///
/// so one scan serves every query, newest first by walking backwards:
/// - `scope` is the owner's user id (0 for a call nobody owns). An operator's view is one
///   contiguous range; an admin's view merges the ranges of every owner (`Database.callScopes`).
///   Writing every entry a second time under an "everything" scope made that view one range,
///   but doubled the index pages dirtied per call, the largest part of a webhook's commit.
/// - `facet` says what the entry is about. The top byte is its kind: `date` (every call),
///   `status` (the status in the low byte), `number` (a 4- or 7-digit piece of a phone number:
///   its first 4, first 7 or last 4 digits).
///
/// The value is a `CallSummary`: status, application and both numbers. Filters that are not in
/// the key are checked against it, without loading the call.
public typealias CallIndexKey = Quad<UInt64Key, UInt64Key, UInt64Key, UInt64Key>

public enum Facet {
    static let dateKind: UInt64 = 1
    static let statusKind: UInt64 = 2
    static let numberKind: UInt64 = 3

    public static let date: UInt64 = dateKind << 56

    public static func status(_ status: CallStatus) -> UInt64 { statusKind << 56 | UInt64(status.rawValue) }

    enum Piece: UInt64 {
        case first4 = 1, first7 = 2, last4 = 3
        var length: Int { self == .first7 ? 7 : 4 }
    }

    /// A number piece packed as ASCII digits into the low bytes.
    static func number(_ piece: Piece, _ digits: Substring) -> UInt64 {
        var value = numberKind << 56 | piece.rawValue << 48
        for (index, byte) in digits.utf8.prefix(piece.length).enumerated() {
            value |= UInt64(byte) << (8 * UInt64(6 - index))
        }
        return value
    }

    /// The number facets of one phone number (digits).
    static func numberFacets(_ digits: String) -> [UInt64] {
        guard digits.count >= 4 else { return [] }
        var facets = [number(.first4, digits.prefix(4)), number(.last4, digits.suffix(4))]
        if digits.count >= 7 { facets.append(number(.first7, digits.prefix(7))) }
        return facets
    }

    /// Every facet of a call: the entries to write (per scope).
    static func all(for call: Call) -> Set<UInt64> {
        var facets: Set<UInt64> = [date, status(call.status)]
        facets.formUnion(numberFacets(call.fromDigits))
        facets.formUnion(numberFacets(call.toDigits))
        return facets
    }
}

/// What an index entry knows of its call.
public struct CallSummary: Sendable, Equatable {
    public var status: CallStatus
    public var applicationID: UInt64
    public var fromDigits: String
    public var toDigits: String

    init(_ call: Call) {
        status = call.status
        applicationID = call.applicationID
        fromDigits = call.fromDigits
        toDigits = call.toDigits
    }

    init(status: CallStatus, applicationID: UInt64, fromDigits: String, toDigits: String) {
        self.status = status
        self.applicationID = applicationID
        self.fromDigits = fromDigits
        self.toDigits = toDigits
    }
}

/// `status u8 | application u64 | len u8 | from digits | len u8 | to digits`: compact, since
/// every call has a dozen entries.
public enum CallSummaryCodec: ValueCodec {
    public static func encode(_ value: CallSummary) -> [UInt8] {
        var bytes: [UInt8] = [value.status.rawValue]
        bytes.reserveCapacity(11 + value.fromDigits.utf8.count + value.toDigits.utf8.count)
        bytes.appendBigEndian(value.applicationID)
        for digits in [value.fromDigits, value.toDigits] {
            let utf8 = Array(digits.utf8.prefix(255))
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        return bytes
    }

    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> CallSummary {
        var reader = ByteReader(raw)
        let statusByte = try reader.readBigEndian(UInt8.self)
        guard let status = CallStatus(rawValue: statusByte) else { throw CodecError.truncated(needed: 1, available: 0) }
        let app = try reader.readBigEndian(UInt64.self)
        let fromLength = Int(try reader.readBigEndian(UInt8.self))
        let from = String(decoding: try reader.take(fromLength), as: UTF8.self)
        let toLength = Int(try reader.readBigEndian(UInt8.self))
        let to = String(decoding: try reader.take(toLength), as: UTF8.self)
        return CallSummary(status: status, applicationID: app, fromDigits: from, toDigits: to)
    }
}

extension Database {
    /// Every scope that has calls in the index, ascending: what an admin's view merges. One
    /// seek per owner, from each owner's first key to the next owner's.
    public func callScopes(_ txn: some ReadableTransaction) throws -> [UInt64] {
        var scopes: [UInt64] = []
        var from: UInt64? = 0
        while let lower = from, let key = try callIndex.keys(txn, .halfOpen(from: (lower, 0, 0, 0), below: nil), limit: 1).first {
            scopes.append(key.0)
            from = key.0 == .max ? nil : key.0 + 1
        }
        return scopes
    }
}

import Foundation
import KVStore

/// Call totals of one scope and application over one quarter of an hour.
///
/// Why quarter-hours and not days: a day starts at a different instant in every time zone, and
/// every zone's offset is a multiple of 15 minutes. Quarter-hour buckets sum exactly into the
/// days of whatever zone the viewer has, and a date-range count needs only the buckets inside
/// the range plus two partial quarters at its edges. 96 buckets a day keeps Statistics O(days).
public struct CallStatsBucket: Sendable, Equatable {
    /// Indexed by `CallStatus.rawValue - 1` (lanes 5…7 stay zero). A SIMD vector rather than
    /// an array: no allocation per bucket, and Statistics decodes thousands of buckets.
    public var counts = SIMD8<Int64>()
    public var durationSeconds: Int64 = 0
    public var answeredDurationSeconds: Int64 = 0
    public var costMicros: Int64 = 0

    public init() {}

    public var total: Int64 { counts.wrappedSum() }

    public func count(_ status: CallStatus) -> Int64 { counts[Int(status.rawValue) - 1] }

    public func count(_ statuses: Set<CallStatus>) -> Int64 {
        statuses.reduce(0) { $0 + count($1) }
    }

    mutating func add(_ call: Call, sign: Int64) {
        counts[Int(call.status.rawValue) - 1] += sign
        durationSeconds += sign * Int64(call.durationSeconds)
        if call.status == .answered { answeredDurationSeconds += sign * Int64(call.durationSeconds) }
        costMicros += sign * (call.cost?.micros ?? 0)
    }

    public mutating func add(_ other: CallStatsBucket) {
        counts &+= other.counts
        durationSeconds += other.durationSeconds
        answeredDurationSeconds += other.answeredDurationSeconds
        costMicros += other.costMicros
    }

    public mutating func subtract(_ other: CallStatsBucket) {
        counts &-= other.counts
        durationSeconds -= other.durationSeconds
        answeredDurationSeconds -= other.answeredDurationSeconds
        costMicros -= other.costMicros
    }

    var isEmpty: Bool { counts == SIMD8() && costMicros == 0 && durationSeconds == 0 }
}

public enum CallStatsCodec: ValueCodec {
    public static func encode(_ value: CallStatsBucket) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 * (CallStatus.allCases.count + 3))
        for index in 0..<CallStatus.allCases.count { bytes.appendBigEndian(value.counts[index]) }
        bytes.appendBigEndian(value.durationSeconds)
        bytes.appendBigEndian(value.answeredDurationSeconds)
        bytes.appendBigEndian(value.costMicros)
        return bytes
    }

    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> CallStatsBucket {
        var reader = ByteReader(raw)
        var bucket = CallStatsBucket()
        for index in 0..<5 { bucket.counts[index] = try reader.readBigEndian(Int64.self) }
        bucket.durationSeconds = try reader.readBigEndian(Int64.self)
        bucket.answeredDurationSeconds = try reader.readBigEndian(Int64.self)
        bucket.costMicros = try reader.readBigEndian(Int64.self)
        return bucket
    }
}

/// scope | application (0 = all) | quarter-hour since the epoch (`allTime` for the running total).
public typealias CallStatsKey = Triple<UInt64Key, UInt64Key, UInt32Key>

public enum Quarter {
    public static let seconds: UInt64 = 900
    public static let allTime = UInt32.max

    public static func of(micros: UInt64) -> UInt32 { UInt32(micros / 1_000_000 / seconds) }
    public static func startMicros(_ quarter: UInt32) -> UInt64 { UInt64(quarter) * seconds * 1_000_000 }
}

import Foundation
import KVStore

/// What Call History asks for. Empty means "no condition".
public struct CallFilter: Sendable, Equatable {
    /// Start time at or after.
    public var from: Date?
    /// Start time before (exclusive).
    public var to: Date?
    public var statuses: Set<CallStatus> = []
    /// Any part of a number a person would type: full in any format, beginning, or last digits.
    public var number: String?
    public var applicationID: UInt64?

    public init(from: Date? = nil, to: Date? = nil, statuses: Set<CallStatus> = [], number: String? = nil,
                applicationID: UInt64? = nil) {
        self.from = from
        self.to = to
        self.statuses = statuses
        self.number = number
        self.applicationID = applicationID
    }
}

/// A position in the newest-first list: the last row seen. Stable while calls arrive,
/// because it names a key, not an offset.
public struct CallCursor: Sendable, Equatable, CustomStringConvertible {
    public var startMicros: UInt64
    public var callID: UInt64

    public init(startMicros: UInt64, callID: UInt64) {
        self.startMicros = startMicros
        self.callID = callID
    }

    /// Reads a cursor from a paging link. It comes back from the browser, so it is checked like
    /// any input: a start within the times a call can have, an id that is not the largest (the
    /// page after it is computed from id + 1). Anything else is nil, and the page says so.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ (1...13).contains($0.utf8.count) }),
              let start = UInt64(parts[0], radix: 36), let id = UInt64(parts[1], radix: 36),
              start <= Time.micros(Time.accepted.upperBound), id < .max else { return nil }
        self.init(startMicros: start, callID: id)
    }

    public var description: String { String(startMicros, radix: 36) + "-" + String(callID, radix: 36) }
}

public enum PageDirection: Sendable {
    /// Rows after the cursor in newest-first order (the next page).
    case older
    /// Rows before the cursor (the previous page).
    case newer
}

public struct CallPage: Sendable {
    public var calls: [Call]
    public var olderCursor: CallCursor?
    public var newerCursor: CallCursor?
}

/// Reading calls for a viewer: pages, counts, exports, single calls. What the viewer may see
/// is `Visibility`'s rule: an operator reads the index range of their own user id, an admin
/// the ranges of every owner, merged; statistics keep a scope 0 that means all.
public struct CallQueries: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    func indexScopes(of viewer: User, _ txn: ReadTransaction) throws -> [UInt64] {
        try viewer.visibility.indexScopes(database, txn)
    }

    // MARK: Plans

    /// One index range to walk, and the check that the key alone cannot do.
    struct Stream {
        let facet: UInt64
        let matches: (CallSummary) -> Bool
    }

    /// Picks the most selective facet for the filter. Every stream yields a call at most once,
    /// but a call can be in two streams of the same plan (number as prefix and as suffix).
    func plan(_ filter: CallFilter) -> (streams: [Stream], mayOverlap: Bool) {
        let statuses = filter.statuses.count == CallStatus.allCases.count ? [] : filter.statuses
        let app = filter.applicationID
        // Checked for every entry a stream walks: a bit per status, not a set lookup.
        let allowed = statuses.reduce(UInt64(0)) { $0 | 1 << UInt64($1.rawValue) }
        let common: (CallSummary) -> Bool = { summary in
            (allowed == 0 || allowed & (1 << UInt64(summary.status.rawValue)) != 0) && (app == nil || summary.applicationID == app)
        }
        let variants = PhoneNumber.searchVariants(filter.number ?? "")
        if !variants.isEmpty {
            let either = { (summary: CallSummary, test: (String) -> Bool) in test(summary.fromDigits) || test(summary.toDigits) }
            if variants.allSatisfy({ $0.count >= 4 }) {
                var streams: [Stream] = []
                for digits in variants {
                    // When the digits are exactly the facet's piece, being in the facet's range
                    // is the match: the numbers need no second look.
                    let exact = digits.count == Facet.Piece.last4.length
                    streams.append(Stream(facet: Facet.number(.last4, digits.suffix(4))) { summary in
                        common(summary) && (exact || either(summary) { $0.hasSuffix(digits) })
                    })
                    let piece: Facet.Piece = digits.count >= 7 ? .first7 : .first4
                    let exactPiece = digits.count == piece.length
                    streams.append(Stream(facet: Facet.number(piece, digits.prefix(piece.length))) { summary in
                        common(summary) && (exactPiece || either(summary) { $0.hasPrefix(digits) })
                    })
                }
                return (streams, true)
            }
            // Fewer than 4 digits: no number facet is that short; walk by date.
            return ([Stream(facet: Facet.date) { summary in
                common(summary) && variants.contains { digits in either(summary) { $0.hasPrefix(digits) || $0.hasSuffix(digits) } }
            }], false)
        }
        if !statuses.isEmpty {
            return (statuses.sorted().map { status in Stream(facet: Facet.status(status)) { common($0) } }, false)
        }
        return ([Stream(facet: Facet.date) { common($0) }], false)
    }

    private func window(_ filter: CallFilter) -> (low: UInt64, high: UInt64) {
        (filter.from.map(Time.micros) ?? 0, filter.to.map(Time.micros) ?? UInt64.max)
    }

    /// Up to `limit` matching (start, id) pairs of one stream, walking from the cursor.
    private func fetch(
        _ stream: Stream, scope: UInt64, low: UInt64, high: UInt64, cursor: CallCursor?, direction: PageDirection,
        limit: Int?, txn: ReadTransaction, _ visit: (UInt64, UInt64) -> Void
    ) throws {
        var lower = (start: low, id: UInt64(0))
        var upper = (start: high, id: UInt64(0))
        if let cursor {
            switch direction {
            case .older:
                let at = (start: cursor.startMicros, id: cursor.callID)
                if at < upper { upper = at }
            case .newer:
                let next = cursor.callID == .max ? (start: cursor.startMicros + 1, id: UInt64(0)) : (start: cursor.startMicros, id: cursor.callID + 1)
                if next > lower { lower = next }
            }
        }
        var found = 0
        try database.walkCallIndex(
            txn, scope: scope, facet: stream.facet, from: lower, below: upper, direction: direction == .older ? .backward : .forward
        ) { id, summary in
            guard stream.matches(summary) else { return true }
            visit(summary.startMicros, id)
            found += 1
            return limit.map { found < $0 } ?? true
        }
    }

    // MARK: Queries

    /// One page, newest first.
    public func page(viewer: User, filter: CallFilter, cursor: CallCursor? = nil, direction: PageDirection = .older,
                     limit: Int = 50) throws -> CallPage {
        let limit = max(1, min(limit, 500))
        let (low, high) = window(filter)
        let (streams, _) = plan(filter)
        return try database.environment.read { txn in
            var keys: [(UInt64, UInt64)] = []
            for scope in try indexScopes(of: viewer, txn) {
                for stream in streams {
                    try fetch(stream, scope: scope, low: low, high: high, cursor: cursor, direction: direction,
                              limit: limit + 1, txn: txn) { keys.append(($0, $1)) }
                }
            }
            // Merge the streams (and owners): newest first, each call once.
            keys.sort { $0 > $1 }
            var unique: [(UInt64, UInt64)] = []
            for key in keys where unique.last.map({ $0 != key }) ?? true { unique.append(key) }
            if direction == .newer { unique.reverse() }
            let more = unique.count > limit
            var pageKeys = Array(unique.prefix(limit))
            if direction == .newer { pageKeys.reverse() }
            let calls = try pageKeys.compactMap { try database.calls.get(txn, $0.1) }
            let first = pageKeys.first.map { CallCursor(startMicros: $0.0, callID: $0.1) }
            let last = pageKeys.last.map { CallCursor(startMicros: $0.0, callID: $0.1) }
            switch direction {
            case .older:
                return CallPage(calls: calls, olderCursor: more ? last : nil, newerCursor: cursor == nil ? nil : first)
            case .newer:
                return CallPage(calls: calls, olderCursor: last, newerCursor: more ? first : nil)
            }
        }
    }

    /// The exact number of calls matching the filter. Without a number search it is read from
    /// the quarter-hour statistics, plus the two partial quarters at the edges of the range.
    public func count(viewer: User, filter: CallFilter) throws -> Int {
        let statisticsScopes = viewer.visibility.statisticsScopes
        let (streams, mayOverlap) = plan(filter)
        return try database.environment.read { txn in
            let scopes = try indexScopes(of: viewer, txn)
            func walkCount(low: UInt64, high: UInt64, dedupe: Bool) throws -> Int {
                try scopes.reduce(0) { sum, scope in
                    sum + (try self.walkCount(streams, scope: scope, low: low, high: high, dedupe: dedupe, txn: txn))
                }
            }
            if filter.number.map({ !PhoneNumber.digits($0).isEmpty }) == true {
                let (low, high) = window(filter)
                return try walkCount(low: low, high: high, dedupe: mayOverlap)
            }
            let app = filter.applicationID ?? 0
            let statuses = filter.statuses.isEmpty ? Set(CallStatus.allCases) : filter.statuses
            func bucketsCount(_ fromQuarter: UInt32, _ toQuarter: UInt32) throws -> Int64 {
                guard fromQuarter < toQuarter else { return 0 }
                var sum: Int64 = 0
                for scope in statisticsScopes {
                    try database.callStats.scan(txn, .halfOpen(from: (scope, app, fromQuarter), below: (scope, app, toQuarter))) { _, bucket in
                        sum += bucket.count(statuses)
                        return true
                    }
                }
                return sum
            }
            func allTimeCount() throws -> Int64 {
                try statisticsScopes.reduce(0) { sum, scope in
                    sum + (try database.callStats.get(txn, (scope, app, Quarter.allTime))?.count(statuses) ?? 0)
                }
            }
            /// Calls at or after `low`.
            func countFrom(_ low: UInt64) throws -> Int64 {
                let firstWhole = UInt32(min(UInt64(Quarter.allTime - 1), (low + Quarter.seconds * 1_000_000 - 1) / (Quarter.seconds * 1_000_000)))
                let edge = try walkCount(low: low, high: Quarter.startMicros(firstWhole), dedupe: false)
                return try bucketsCount(firstWhole, Quarter.allTime) + Int64(edge)
            }
            switch (filter.from.map(Time.micros), filter.to.map(Time.micros)) {
            case (nil, nil):
                return Int(try allTimeCount())
            case let (low?, nil):
                return Int(try countFrom(low))
            case let (nil, high?):
                let all = try allTimeCount()
                return Int(all - (try countFrom(high)))
            case let (low?, high?):
                guard low < high else { return 0 }
                let firstWhole = (low + Quarter.seconds * 1_000_000 - 1) / (Quarter.seconds * 1_000_000)
                let lastWhole = high / (Quarter.seconds * 1_000_000)
                if firstWhole >= lastWhole {
                    return try walkCount(low: low, high: high, dedupe: false)
                }
                let middle = try bucketsCount(UInt32(firstWhole), UInt32(lastWhole))
                let head = try walkCount(low: low, high: Quarter.startMicros(UInt32(firstWhole)), dedupe: false)
                let tail = try walkCount(low: Quarter.startMicros(UInt32(lastWhole)), high: high, dedupe: false)
                return Int(middle) + head + tail
            }
        }
    }

    private func walkCount(_ streams: [Stream], scope: UInt64, low: UInt64, high: UInt64, dedupe: Bool, txn: ReadTransaction) throws -> Int {
        guard low < high else { return 0 }
        var seen = Set<UInt64>()
        var count = 0
        for stream in streams {
            try fetch(stream, scope: scope, low: low, high: high, cursor: nil, direction: .older, limit: nil, txn: txn) { _, id in
                if dedupe { seen.insert(id) } else { count += 1 }
            }
        }
        return dedupe ? seen.count : count
    }

    /// Every matching call, newest first, in chunks of short read transactions: constant
    /// memory and no long-lived snapshot, for CSV export.
    public func forEach(viewer: User, filter: CallFilter, chunk: Int = 500, _ body: (Call) throws -> Void) throws {
        var cursor: CallCursor?
        repeat {
            let page = try page(viewer: viewer, filter: filter, cursor: cursor, direction: .older, limit: chunk)
            for call in page.calls { try body(call) }
            cursor = page.olderCursor
        } while cursor != nil
    }

    /// The call if the viewer may see it.
    public func call(id: UInt64, viewer: User) throws -> Call? {
        try database.environment.read { txn in
            guard let call = try database.calls.get(txn, id) else { return nil }
            return viewer.visibility.allows(owner: call.ownerUserID) ? call : nil
        }
    }

    /// The call's transcript, if it has one it may show (see `ConversationLink`).
    public func transcript(of call: Call) throws -> Transcript? {
        guard let conversation = call.conversationID else { return nil }
        return try database.environment.read { txn in
            guard let transcript = try database.transcripts.get(txn, (call.ownerUserID, conversation)),
                  try ConversationLink.allows(call, transcriptKey: transcript.elevenLabsKeyID, database: database, in: txn)
            else { return nil }
            return transcript
        }
    }
}

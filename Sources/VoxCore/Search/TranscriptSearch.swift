import Foundation
import KVStore

/// A page of calls whose transcripts match a search, newest first.
public struct SearchResults: Sendable {
    public var calls: [Call]
    /// Where the next page starts; nil on the last.
    public var olderCursor: CallCursor?
    /// The search stopped at its work limit before filling the page: there may be more
    /// matches further back (the next page goes on from where it stopped).
    public var stoppedEarly: Bool
    /// A prefix matched more words than are searched (`TranscriptSearch.maxExpansions`).
    public var prefixCut: Bool
}

/// Transcript search for a viewer, with Call History's filters. Two plans:
///
/// - without a number, the posting lists drive: each clause's stream, intersected newest
///   first, and each call the words agree on is checked for status and application;
/// - with a number (a handful of calls, from the number index), the calls drive, and each one
///   is looked up in the posting blocks of its quarter-hour.
///
/// Either way the work is bounded (`maxExamined` calls per request) and the page says when it
/// stopped early.
public struct TranscriptSearch: Sendable {
    public let database: Database
    public static let maxExamined = 20_000
    /// `maxExamined`, lower in tests.
    public var examineLimit = TranscriptSearch.maxExamined
    public static let maxExpansions = 64

    public init(database: Database) { self.database = database }

    /// The index's size on disk (its two tables' pages), for the benchmark and the Health page.
    public func indexBytes() throws -> Int {
        try database.environment.read { txn in
            try database.transcriptTerms.storedBytes(txn) + database.transcriptLexicon.storedBytes(txn)
        }
    }

    public func search(_ query: SearchQuery, viewer: User, filter: CallFilter, after cursor: CallCursor? = nil,
                       limit: Int = 50) throws -> SearchResults {
        let limit = max(1, min(limit, 200))
        // Seconds, as the index keys calls (see `PostingKey`): from the first whole second at or
        // after `from`, to the last second that has a microsecond before `to`.
        let low = PostingKey(second: filter.from.map { (Time.micros($0) + 999_999) / 1_000_000 } ?? 0, callID: 0)
        // No call starts after `Time.accepted` (checked where calls come in).
        let latest = PostingKey(micros: Time.micros(Time.accepted.upperBound), callID: .max)
        var high: PostingKey? = filter.to.map(Time.micros).flatMap { $0 == 0 ? nil : PostingKey(micros: $0 - 1, callID: .max) }
            .map { min($0, latest) } ?? latest
        if let cursor, let below = PostingKey(micros: cursor.startMicros, callID: cursor.callID).predecessor {
            high = high.map { min($0, below) }
        } else if cursor != nil {
            high = nil
        }
        guard let high, high >= low else { return SearchResults(calls: [], olderCursor: nil, stoppedEarly: false, prefixCut: false) }
        if !PhoneNumber.digits(filter.number ?? "").isEmpty {
            return try searchByCalls(query, viewer: viewer, filter: filter, cursor: cursor, limit: limit)
        }
        return try database.environment.read { txn in
            var found: [Call] = []
            var prefixCut = false
            // The newest key at which an owner's walk stopped at the work limit: below it,
            // that owner's matches are unknown, so the page ends there.
            var boundary: PostingKey?
            for owner in try viewer.visibility.indexScopes(database, txn) {
                let scope = try searchOwner(owner, query, filter: filter, low: low, high: high, limit: limit + 1, txn: txn)
                found += scope.calls
                prefixCut = prefixCut || scope.prefixCut
                if let stop = scope.stoppedAt { boundary = max(boundary ?? stop, stop) }
            }
            found.sort { PostingKey($0) > PostingKey($1) }
            // The call at the boundary was judged (kept if it matched); below it is unknown.
            if let boundary { found.removeAll { PostingKey($0) < boundary } }
            let page = Array(found.prefix(limit))
            let next: CallCursor?
            if found.count > limit, let last = page.last {
                next = Self.cursor(PostingKey(last))
            } else {
                next = boundary.map(Self.cursor)
            }
            return SearchResults(calls: page, olderCursor: next, stoppedEarly: found.count <= limit && boundary != nil,
                                 prefixCut: prefixCut)
        }
    }

    /// A paging cursor at a posting key: its second as microseconds, which reads back as the
    /// same key.
    static func cursor(_ key: PostingKey) -> CallCursor {
        CallCursor(startMicros: key.second * 1_000_000, callID: key.callID)
    }

    private func searchOwner(_ owner: UInt64, _ query: SearchQuery, filter: CallFilter, low: PostingKey, high: PostingKey,
                             limit: Int, txn: ReadTransaction) throws -> (calls: [Call], stoppedAt: PostingKey?, prefixCut: Bool) {
        var prefixCut = false
        var streams: [ClauseStream] = []
        for clause in query.clauses {
            let (stream, cut) = try self.stream(clause, owner: owner, low: low, txn: txn)
            guard let stream else { return ([], nil, cut) }  // a word this owner never had
            prefixCut = prefixCut || cut
            streams.append(stream)
        }
        let accepts = Self.conditions(filter)
        var calls: [Call] = []
        var examined = 0
        var target: PostingKey? = high
        while let wanted = target {
            let aligned: PostingKey?
            do {
                aligned = try Intersection.align(&streams, atOrBelow: wanted)
            } catch let stop as SearchStopped {
                return (calls, stop.at, prefixCut)
            }
            guard let key = aligned else { break }
            examined += 1
            if let call = try database.calls.get(txn, key.callID), call.ownerUserID == owner, accepts(call) {
                calls.append(call)
                if calls.count >= limit { break }
            }
            if examined >= examineLimit { return (calls, key, prefixCut) }
            target = key.predecessor
        }
        return (calls, nil, prefixCut)
    }

    private func stream(_ clause: SearchQuery.Clause, owner: UInt64, low: PostingKey,
                        txn: ReadTransaction) throws -> (ClauseStream?, Bool) {
        let index = TranscriptIndex(database: database)
        func term(_ word: String) -> TermStream {
            TermStream(table: database.transcriptTerms, txn: txn, owner: owner, term: word, low: low)
        }
        switch clause {
        case let .term(word):
            return (.term(term(word)), false)
        case let .prefix(prefix):
            let words = try index.expand(prefix, owner: owner, limit: Self.maxExpansions + 1, in: txn)
            guard !words.isEmpty else { return (nil, false) }
            return (.union(UnionStream(words.prefix(Self.maxExpansions).map(term))), words.count > Self.maxExpansions)
        case let .phrase(words):
            return (.phrase(PhraseStream(words.map(term), limit: examineLimit)), false)
        }
    }

    /// Status and application, checked on each call the words agree on.
    static func conditions(_ filter: CallFilter) -> (Call) -> Bool {
        let statuses = filter.statuses.count == CallStatus.allCases.count ? [] : filter.statuses
        let app = filter.applicationID
        return { call in (statuses.isEmpty || statuses.contains(call.status)) && (app == nil || call.applicationID == app) }
    }

    /// The number plan: Call History's own page walk, and a look in each call's blocks.
    private func searchByCalls(_ query: SearchQuery, viewer: User, filter: CallFilter, cursor: CallCursor?,
                               limit: Int) throws -> SearchResults {
        let queries = CallQueries(database: database)
        let expansions = Expansions()
        var found: [Call] = []
        var examined = 0
        var position = cursor
        var prefixCut = false
        while true {
            let page = try queries.page(viewer: viewer, filter: filter, cursor: position, direction: .older, limit: 200)
            let outcome: SearchResults? = try database.environment.read { txn in
                for call in page.calls {
                    examined += 1
                    let (yes, cut) = try matches(call, query, expansions: expansions, txn: txn)
                    prefixCut = prefixCut || cut
                    if yes { found.append(call) }
                    if found.count > limit {
                        let shown = Array(found.prefix(limit))
                        return SearchResults(calls: shown, olderCursor: shown.last.map { CallCursor(startMicros: $0.startMicros, callID: $0.id) },
                                             stoppedEarly: false, prefixCut: prefixCut)
                    }
                    if examined >= examineLimit {
                        return SearchResults(calls: found, olderCursor: CallCursor(startMicros: call.startMicros, callID: call.id),
                                             stoppedEarly: true, prefixCut: prefixCut)
                    }
                }
                return nil
            }
            if let outcome { return outcome }
            guard let older = page.olderCursor else { break }
            position = older
        }
        return SearchResults(calls: found, olderCursor: nil, stoppedEarly: false, prefixCut: prefixCut)
    }

    /// Whether one call's transcript has every clause, from the posting blocks of its quarter.
    func matches(_ call: Call, _ query: SearchQuery, expansions: Expansions, txn: some ReadableTransaction) throws -> (Bool, Bool) {
        guard call.hasTranscript else { return (false, false) }
        var prefixCut = false
        let index = TranscriptIndex(database: database)
        func positions(_ term: String) throws -> [UInt32]? { try index.positions(of: term, in: call, txn: txn) }
        for clause in query.clauses {
            switch clause {
            case let .term(word):
                guard try positions(word) != nil else { return (false, prefixCut) }
            case let .prefix(prefix):
                let words = try expansions.words(prefix, owner: call.ownerUserID) {
                    try TranscriptIndex(database: database).expand(prefix, owner: call.ownerUserID, limit: Self.maxExpansions + 1, in: txn)
                }
                prefixCut = prefixCut || words.count > Self.maxExpansions
                guard try words.prefix(Self.maxExpansions).contains(where: { try positions($0) != nil }) else { return (false, prefixCut) }
            case let .phrase(words):
                var lists: [[UInt32]] = []
                for word in words {
                    guard let list = try positions(word) else { return (false, prefixCut) }
                    lists.append(list)
                }
                guard Phrase.occurs(in: lists) else { return (false, prefixCut) }
            }
        }
        return (true, prefixCut)
    }
}

/// A prefix's words per owner, looked up once per request (the number plan checks every call
/// it walks against every clause).
final class Expansions {
    private var words: [String: [String]] = [:]

    func words(_ prefix: String, owner: UInt64, _ lookUp: () throws -> [String]) rethrows -> [String] {
        let key = "\(owner) \(prefix)"
        if let known = words[key] { return known }
        let found = try lookUp()
        words[key] = found
        return found
    }
}

/// One clause's stream, without existentials.
enum ClauseStream: PostingStream {
    case term(TermStream)
    case union(UnionStream)
    case phrase(PhraseStream)

    var current: PostingKey? {
        switch self {
        case let .term(s): s.current
        case let .union(s): s.current
        case let .phrase(s): s.current
        }
    }

    mutating func seek(atOrBelow key: PostingKey) throws {
        switch self {
        case var .term(s): try s.seek(atOrBelow: key); self = .term(s)
        case var .union(s): try s.seek(atOrBelow: key); self = .union(s)
        case var .phrase(s): try s.seek(atOrBelow: key); self = .phrase(s)
        }
    }
}

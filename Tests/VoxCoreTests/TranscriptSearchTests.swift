import Foundation
import KVStore
import Testing
@testable import VoxCore

@Suite struct SearchTextTests {
    @Test func wordsAreFoldedAndLightlyStemmed() {
        #expect(SearchText.terms(in: "Возврат ВОЗВРАТА возвратом, возвраты!") == ["возврат", "возврат", "возврат", "возврат"])
        #expect(SearchText.terms(in: "Ёлка ёжик") == SearchText.terms(in: "елка ежик"))
        #expect(SearchText.terms(in: "Refunds, refunded; REFUNDING refund") == ["refund", "refund", "refund", "refund"])
        #expect(SearchText.terms(in: "don't stop") == ["dont", "stop"])
        #expect(SearchText.terms(in: "order #481516, 24/7") == ["order", "481516", "24", "7"])
        // Short words and words that only look inflected keep their letters.
        #expect(SearchText.terms(in: "is us bus kiss") == ["is", "us", "bus", "kiss"])
        #expect(SearchText.terms(in: "дом да") == ["дом", "да"])
        #expect(Set(SearchText.terms(in: "сигнал сигнала сигналом")).count == 1)
        #expect(Set(SearchText.terms(in: "charge charges charged charging")).count == 1)
        // Cyrillic beyond Russian folds too (Kazakh, Ukrainian capitals).
        #expect(SearchText.terms(in: "ҚАЗАҚ Ґанок") == SearchText.terms(in: "қазақ ґанок"))
    }

    @Test func wordRangesPointIntoTheOriginalText() {
        let text = "Hello, «Мир»!"
        let words = SearchText.words(in: text)
        #expect(words.map { String(text[$0.range]) } == ["Hello", "Мир"])
    }

    @Test func hostileTextNeitherTrapsNorMakesHugeTerms() {
        let long = String(repeating: "я", count: 500)
        let terms = SearchText.terms(in: long + " \u{0}\u{FFFF} \u{1F600}" + String(repeating: "a\u{301}", count: 100))
        #expect(terms.allSatisfy { $0.utf8.count <= SearchText.maxTermBytes && !$0.utf8.contains(0) })
        #expect(SearchText.terms(in: "").isEmpty)
    }
}

@Suite struct SearchQueryTests {
    @Test func clausesTermsPhrasesAndPrefixes() throws {
        let query = try SearchQuery(#"refund "money back" возвр* Refund"#)
        #expect(query.clauses == [.term("refund"), .phrase(["money", "back"]), .prefix("возвр")])
        #expect(try SearchQuery("e-mail").clauses == [.phrase(["e", "mail"])])
        #expect(try SearchQuery(#""unclosed quote"#).clauses == [.phrase(["unclos", "quot"])])
    }

    @Test func problemsAreRefusedWithAReason() {
        #expect(throws: SearchQuery.Problem.nothingToSearch) { try SearchQuery("  !!! \"\" ") }
        #expect(throws: SearchQuery.Problem.shortPrefix) { try SearchQuery("a*") }
        #expect(throws: SearchQuery.Problem.tooLong) { try SearchQuery(String(repeating: "x", count: 201)) }
        #expect(throws: SearchQuery.Problem.tooManyClauses) { try SearchQuery("a b c d e f g h i") }
    }
}

@Suite struct PostingBlockTests {
    /// A block built one posting at a time, as indexing does.
    func build(_ postings: [(PostingKey, [UInt32])], lower: PostingKey) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for (key, positions) in postings {
            let encoded = PostingBlock.encodePositions(positions)
            let entries = PostingBlock.inserting(key, positions: encoded.count, into: try PostingBlock.decode(bytes, lower: lower))
            bytes = PostingBlock.encode(entries[...], lower: lower, block: bytes, extra: encoded)
        }
        return bytes
    }

    @Test func entriesKeepNewestFirstRoundTripAndReplaceTheSameCall() throws {
        let lower = PostingKey(second: 1_790_000_000, callID: 1)
        let keys = [(5, 1), (900, 2), (1, 3), (900, 4), (86_400 * 300, 70_000)].map { PostingKey(second: lower.second + UInt64($0.0), callID: UInt64($0.1)) }
        var bytes = try build(keys.map { ($0, [1, 7, 300]) }, lower: lower)
        var entries = try PostingBlock.decode(bytes, lower: lower)
        #expect(entries.map(\.callID) == [70_000, 4, 2, 1, 3])
        #expect(try entries.map { try PostingBlock.positions(bytes, $0.positions) } == Array(repeating: [1, 7, 300], count: 5))
        // Dense keys cost a few bytes each: deltas of seconds and ids.
        #expect(bytes.count < 5 * 12)
        bytes = try build([(PostingKey(second: lower.second, callID: 2), [9])], lower: lower, into: bytes)
        entries = try PostingBlock.decode(bytes, lower: lower)
        #expect(entries.map(\.callID) == [70_000, 4, 1, 3, 2])
        #expect(try PostingBlock.positions(bytes, entries[4].positions) == [9])
        #expect(try PostingBlock.positions(bytes, entries[0].positions) == [1, 7, 300])
    }

    func build(_ postings: [(PostingKey, [UInt32])], lower: PostingKey, into start: [UInt8]) throws -> [UInt8] {
        var bytes = start
        for (key, positions) in postings {
            let encoded = PostingBlock.encodePositions(positions)
            let entries = PostingBlock.inserting(key, positions: encoded.count, into: try PostingBlock.decode(bytes, lower: lower))
            bytes = PostingBlock.encode(entries[...], lower: lower, block: bytes, extra: encoded)
        }
        return bytes
    }

    @Test func corruptBlocksThrow() {
        let lower = PostingKey(second: 10, callID: 10)
        #expect(throws: (any Error).self) { try PostingBlock.decode([0x80], lower: lower) }
        #expect(throws: (any Error).self) { try PostingBlock.decode([1, 2, 0xFF, 0xFF, 0xFF, 0x0F], lower: lower) }
        #expect(throws: (any Error).self) { try PostingBlock.decode(Array(repeating: 0xFF, count: 12), lower: lower) }
        // A second entry further back than second 0.
        #expect(throws: (any Error).self) { try PostingBlock.decode([0, 0, 0, 50, 0, 0], lower: lower) }
    }
}

@Suite struct TranscriptSearchTests {
    let f: CallFixture
    init() throws { f = try CallFixture() }

    /// A call of `owner` at `start` with a transcript of `lines`, linked as the webhook path
    /// links them (the transcript first, then the call, or the other way round).
    @discardableResult
    func callWith(_ lines: [String], owner: User? = nil, at start: Date, status: CallStatus = .answered,
                  from: String = "+7 (999) 123-45-67", transcriptFirst: Bool = true) throws -> Call {
        let owner = owner ?? f.alice!
        var call = f.call(owner: owner, at: start, from: from, status: status)
        let conversation = "conv_\(UUID().uuidString)"
        call.conversationID = conversation
        let transcript = Transcript(conversationID: conversation,
                                    turns: lines.enumerated().map { .init(role: $0 % 2 == 0 ? "agent" : "user", text: $1, secondsIntoCall: $0 * 10) })
        return try f.database.environment.write { txn in
            if transcriptFirst { try f.store.saveTranscript(transcript, owner: owner.id, in: txn) }
            let id = try f.store.upsert(call, in: txn).callID
            if !transcriptFirst { try f.store.saveTranscript(transcript, owner: owner.id, in: txn) }
            return try #require(try f.database.calls.get(txn, id))
        }
    }

    func find(_ text: String, as viewer: User? = nil, filter: CallFilter = CallFilter(), after: CallCursor? = nil,
              limit: Int = 50) throws -> [UInt64] {
        try TranscriptSearch(database: f.database).search(try SearchQuery(text), viewer: viewer ?? f.alice, filter: filter,
                                                          after: after, limit: limit).calls.map(\.id)
    }

    @Test func findsByWordsPhrasesAndPrefixesInBothLanguages() throws {
        let refund = try callWith(["Здравствуйте!", "Я хочу оформить возврат денег за заказ."], at: base)
        let card = try callWith(["Hello", "My card was charged twice, I want my money back"], at: base + 60, transcriptFirst: false)
        let both = try callWith(["Добрый день", "Где мой возврата? Money back please"], at: base + 120)
        #expect(try find("возврата") == [both.id, refund.id])
        #expect(try find("ВОЗВРАТ денег") == [refund.id])
        #expect(try find(#""money back""#) == [both.id, card.id])
        #expect(try find(#""back money""#) == [])
        #expect(try find("возвр* money") == [both.id])
        #expect(try find("charges") == [card.id])
        #expect(try find("nothing-like-this") == [])
    }

    @Test func searchesOnlyWhatTheViewerMaySee() throws {
        let mine = try callWith(["secret refund plan"], owner: f.alice, at: base)
        let theirs = try callWith(["secret refund plan"], owner: f.bob, at: base + 1)
        #expect(try find("refund", as: f.alice) == [mine.id])
        #expect(try find("refund", as: f.bob) == [theirs.id])
        #expect(try find("refund", as: f.admin) == [theirs.id, mine.id])
    }

    @Test func filtersPagesAndMovesWithTheCall() throws {
        var ids: [UInt64] = []
        for minute in 0..<30 {
            let status: CallStatus = minute % 3 == 0 ? .failed : .answered
            ids.append(try callWith(["delivery question \(minute)"], at: base + Double(minute) * 600, status: status,
                                    from: minute == 7 ? "+44 20 7946 0000" : "+7 999 123-45-67").id)
        }
        let newestFirst = Array(ids.reversed())
        #expect(try find("delivery") == newestFirst)
        // Pages of 4, each after the last: every call once, in order.
        var paged: [UInt64] = []
        var cursor: CallCursor?
        repeat {
            let page = try TranscriptSearch(database: f.database).search(try SearchQuery("delivery"), viewer: f.alice,
                                                                         filter: CallFilter(), after: cursor, limit: 4)
            paged += page.calls.map(\.id)
            cursor = page.olderCursor
        } while cursor != nil
        #expect(paged == newestFirst)
        let window = CallFilter(from: base + 600 * 10, to: base + 600 * 20)
        #expect(try find("delivery", filter: window) == Array(ids[10..<20].reversed()))
        #expect(try find("delivery", filter: CallFilter(statuses: [.failed])) == newestFirst.filter { ids.firstIndex(of: $0)! % 3 == 0 })
        #expect(try find("delivery", filter: CallFilter(number: "7946 0000")) == [ids[7]])
        #expect(try find("question 7", filter: CallFilter(number: "0000")) == [ids[7]])

        // A call that moves in time moves in the index (sync corrects a start).
        let moved = try f.database.environment.write { txn in
            try f.store.update(id: ids[0], in: txn) { $0.startedAt = base + 600 * 100 }
        }
        #expect(moved != nil)
        #expect(try find("delivery").first == ids[0])
        #expect(try find("delivery").count == 30)
    }

    @Test func aNewTranscriptReplacesTheOldInTheIndex() throws {
        let call = try callWith(["first version about parcels"], at: base)
        let conversation = try #require(call.conversationID)
        try f.database.environment.write { txn in
            try f.store.saveTranscript(Transcript(conversationID: conversation, turns: [.init(role: "user", text: "second version about invoices", secondsIntoCall: 0)]),
                                       owner: f.alice.id, in: txn)
        }
        #expect(try find("parcels") == [])
        #expect(try find("invoices") == [call.id])
    }

    @Test func blocksSplitAndStayInOrderWhateverTheOrderCallsArriveIn() throws {
        // More calls than a block holds, arriving out of time order (sync backfills), some
        // older than every block so far: every one found, newest first, and gone when moved.
        var ids: [(Date, UInt64)] = []
        var order = SplitMix(seed: 3)
        for _ in 0..<300 {
            let start = base + Double(order.next() % 1_000_000)
            ids.append((start, try callWith(["common word here"], at: start).id))
        }
        let expected = ids.sorted { ($0.0, $0.1) > ($1.0, $1.1) }.map(\.1)
        #expect(try find("common", limit: 200) + find("common", after: cursor(of: expected[199]), limit: 200) == expected)
        let blocks = try f.database.environment.read { txn in try f.database.transcriptTerms.count(txn, .prefix(Pair<UInt64Key, TerminatedStringKey>.self, (f.alice.id, "common"))) }
        #expect(blocks > 300 / PostingBlock.maxEntries && blocks < 300 / 8)
        // Moving every call far back in time empties and re-keys blocks on the way.
        for (_, id) in ids.prefix(150) {
            try f.database.environment.write { txn in _ = try f.store.update(id: id, in: txn) { $0.startedAt = base - 86_400 * 30 } }
        }
        let all = try find("common", limit: 200) + find("common", after: cursor(of: try find("common", limit: 200).last!), limit: 200)
        #expect(Set(all) == Set(ids.map(\.1)) && all.count == 300)
    }

    func cursor(of id: UInt64) throws -> CallCursor {
        let call = try #require(try f.database.environment.read { txn in try f.database.calls.get(txn, id) })
        return CallCursor(startMicros: call.startMicros, callID: id)
    }

    @Test func workIsBoundedAndThePageGoesOnFromWhereItStopped() throws {
        // "alpha beta" as a phrase appears only in the oldest call; the words are everywhere.
        let oldest = try callWith(["alpha beta"], at: base)
        for minute in 1...40 { try callWith(["beta then alpha"], at: base + Double(minute) * 60) }
        var search = TranscriptSearch(database: f.database)
        search.examineLimit = 10
        var cursor: CallCursor?
        var found: [UInt64] = []
        var pages = 0
        repeat {
            let page = try search.search(try SearchQuery(#""alpha beta""#), viewer: f.alice, filter: CallFilter(), after: cursor)
            found += page.calls.map(\.id)
            #expect(page.olderCursor == nil || page.stoppedEarly)
            cursor = page.olderCursor
            pages += 1
        } while cursor != nil && pages < 20
        #expect(found == [oldest.id] && pages > 2)
        // The same bound for words that agree often but fail the status.
        var calls = 0
        var statusCursor: CallCursor?
        repeat {
            let page = try search.search(try SearchQuery("alpha"), viewer: f.alice, filter: CallFilter(statuses: [.busy]), after: statusCursor)
            calls += page.calls.count
            statusCursor = page.olderCursor
        } while statusCursor != nil
        #expect(calls == 0)
    }

    @Test func aWholeWordWithAStarFindsTheWordItself() throws {
        let call = try callWith(["Your card was charged twice; the service will refund it"], at: base)
        #expect(try find("charge*") == [call.id])
        #expect(try find("service*") == [call.id])
        #expect(try find("refunds*") == [call.id])  // no word begins "refunds", but its stem was indexed
        let lines = try SearchQuery("charge*").matchedLines(in: Transcript(conversationID: "x", turns: [.init(role: "user", text: "charged twice", secondsIntoCall: 0)]))
        #expect(lines.first?.pieces.first == MatchedLine.Piece(text: "charged", matched: true))
    }

    @Test func everyCallOfAPageCutByTheWorkLimitComesOnSomePage() throws {
        // Every call has the word; every third is busy. With a limit of 4 calls examined per
        // request, pages stop early again and again: no busy call may fall between two pages.
        var busy: [UInt64] = []
        for minute in 0..<30 {
            let call = try callWith(["word"], at: base + Double(minute) * 60, status: minute % 3 == 0 ? .busy : .answered)
            if minute % 3 == 0 { busy.append(call.id) }
        }
        var search = TranscriptSearch(database: f.database)
        search.examineLimit = 4
        var found: [UInt64] = []
        var cursor: CallCursor?
        var pages = 0
        repeat {
            let page = try search.search(try SearchQuery("word"), viewer: f.alice, filter: CallFilter(statuses: [.busy]), after: cursor)
            found += page.calls.map(\.id)
            cursor = page.olderCursor
            pages += 1
        } while cursor != nil && pages < 100
        #expect(found == busy.reversed())
    }

    @Test func theQueryIsBoundedInWords() {
        #expect(throws: SearchQuery.Problem.tooManyClauses) { try SearchQuery(#""a b c d e f g" "h i j k l m""#) }
        #expect(throws: SearchQuery.Problem.tooManyClauses) { try SearchQuery(String(repeating: "a-", count: 50)) }
    }

    @Test func theMigrationIndexesTranscriptsStoredBefore() throws {
        let call = try callWith(["stored before search existed"], at: base)
        // As an older version left it: no index, schema 4.
        let meta = try f.database.environment.openTable("meta", key: StringKey.self, value: BytesValue.self)
        try f.database.environment.write { txn in
            try f.database.transcriptTerms.removeAll(txn)
            try f.database.transcriptLexicon.removeAll(txn)
            try meta.put(txn, "schema_version", [0, 0, 0, 4])
        }
        #expect(try find("existed") == [])
        let reopened = try Database(path: f.path)
        #expect(try TranscriptSearch(database: reopened).search(try SearchQuery("existed"), viewer: f.alice, filter: CallFilter()).calls.map(\.id) == [call.id])
    }
}

import Foundation
import KVStore
import VoxCore

// voxbench search DATA_DIR TRANSCRIPTS RUNS OUT_JSON
//
// Transcript search at scale. Seeds DATA_DIR/search once (a marker caches it): TRANSCRIPTS
// answered calls over a year, each with a generated transcript, half Russian and half
// English, written through the real path (`CallStore.upsert` and `saveTranscript`, 1,000 per
// transaction, durable). It also writes DATA_DIR/search-docs.tsv, the same documents as the
// search terms our tokenizer makes, for bench/search_peer.py to load into SQLite FTS5: the
// same words, so the comparison is of the indexes, not of two tokenizers.
//
// Then it times eight query shapes RUNS times each (in-process: the query's server time, a
// page of 50), the index's size, and the indexing cost per transcript on ingest.

/// Transcripts of realistic length and word frequencies: each language has a core of common
/// conversational words and a long tail of rarer ones (synthesized), drawn with Zipf's law, as
/// words are in speech; a few topic words and phrases are planted at known rates, so that the
/// query shapes have known selectivities.
struct SearchCorpus {
    var random: SplitMix

    static let english = """
        i you the to a and is it that of my for in can have your this yes no what be we do on not with \
        please thank thanks hello hi okay so just would like could call order help me are was about \
        number card account check get need know time here there want one now will at if today tomorrow \
        sure right well good fine great sorry problem see let phone service support moment again how \
        when where which who delivery payment price address email name confirm cancel change booking \
        appointment week day morning evening monday tuesday wednesday thursday friday saturday sunday \
        bank transfer balance charge charged twice late courier parcel package store receipt invoice \
        manager agent question answer information details minute hour send sent message text line
        """.split(separator: " ").map(String.init)
    static let russian = """
        я вы не да нет что это как и в на с по мне у вас меня можно пожалуйста спасибо здравствуйте \
        добрый день хорошо так вот уже еще только сейчас сегодня завтра заказ номер карта счет помочь \
        помогите нужно хочу могу скажите подскажите вопрос ответ время минуту доставка курьер оплата \
        деньги банк перевод баланс адрес почта телефон имя фамилия подтвердить отменить изменить \
        запись понедельник вторник среда четверг пятница суббота воскресенье утром вечером неделя \
        магазин чек счетфактура менеджер оператор информация сообщение смс линия связь проблема \
        извините конечно понятно ладно отлично минутку секунду подождите проверю вижу вашего ваш
        """.split(separator: " ").map(String.init)
    /// Planted, with the share of transcripts that get them.
    static let rareWord = ("chargeback", "претензия", 0.001)
    static let topicWord = ("refund", "возврат", 0.05)
    static let phrase = (["money", "back"], ["верните", "деньги"], 0.02)

    let tailEnglish: [String]
    let tailRussian: [String]

    init(seed: UInt64) {
        random = SplitMix(seed: seed)
        var r = SplitMix(seed: seed ^ 0x5EED)
        func words(_ syllables: [String], count: Int) -> [String] {
            (0..<count).map { _ in (0..<(2 + Int(r.next() % 3))).map { _ in syllables[Int(r.next() % UInt64(syllables.count))] }.joined() }
        }
        tailEnglish = words(["ka", "ro", "mel", "tin", "so", "par", "ven", "li", "dor", "ex", "qua", "zen", "bro", "ist"], count: 20_000)
        tailRussian = words(["ка", "ро", "мел", "тин", "со", "пар", "вен", "ли", "дор", "ни", "жу", "ста", "бре", "ость"], count: 20_000)
    }

    /// A Zipf-ish rank: 1/rank over a vocabulary of `count` words.
    mutating func zipf(_ count: Int) -> Int {
        // Inverse of the harmonic CDF, approximated: rank = exp(u · ln(count)) − 1.
        let u = random.unit()
        return min(count - 1, Int(exp(u * log(Double(count) + 1))) - 1)
    }

    mutating func transcript(russian: Bool) -> [Transcript.Turn] {
        let core = russian ? Self.russian : Self.english
        let tail = russian ? tailRussian : tailEnglish
        var turns: [Transcript.Turn] = []
        let count = 6 + Int(random.next() % 30)
        var second = 0
        var planted: [[String]] = []
        if random.unit() < Self.rareWord.2 { planted.append([russian ? Self.rareWord.1 : Self.rareWord.0]) }
        if random.unit() < Self.topicWord.2 { planted.append([russian ? Self.topicWord.1 : Self.topicWord.0]) }
        if random.unit() < Self.phrase.2 { planted.append(russian ? Self.phrase.1 : Self.phrase.0) }
        for index in 0..<count {
            var words: [String] = []
            for _ in 0..<(4 + Int(random.next() % 18)) {
                let rank = zipf(core.count + tail.count)
                words.append(rank < core.count ? core[rank] : tail[rank - core.count])
            }
            if !planted.isEmpty, random.unit() < 0.3 || index == count - 1 {
                let insert = planted.removeLast()
                words.insert(contentsOf: insert, at: Int(random.next() % UInt64(words.count)))
            }
            var text = words.joined(separator: " ")
            text = text.prefix(1).uppercased() + text.dropFirst() + (random.unit() < 0.2 ? "?" : ".")
            turns.append(Transcript.Turn(role: index % 2 == 0 ? "agent" : "user", text: text, secondsIntoCall: second))
            second += 2 + words.count / 2
        }
        return turns
    }
}

/// Every indexed transcript as `id start from to terms…`, one a line, in id (= start) order:
/// what bench/search_peer loads into FTS5. Written from the database, after seeding, so it is
/// exactly what was indexed.
func writeDocuments(_ database: Database, to path: String) throws {
    let temporary = path + ".partial"
    FileManager.default.createFile(atPath: temporary, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
    var lines = ""
    try database.environment.read { txn in
        try database.calls.scan(txn) { id, call in
            guard let conversation = call.conversationID,
                  let transcript = try database.transcripts.get(txn, (call.ownerUserID, conversation)) else { return true }
            let terms = transcript.turns.map { SearchText.terms(in: $0.text).joined(separator: " ") }.joined(separator: " ")
            lines += "\(id)\t\(call.startMicros)\t\(PhoneNumber.digits(call.fromNumber))\t\(PhoneNumber.digits(call.toNumber))\t\(terms)\n"
            if lines.utf8.count > 1 << 20 {
                handle.write(Data(lines.utf8))
                lines = ""
            }
            return true
        }
    }
    handle.write(Data(lines.utf8))
    try handle.close()
    try FileManager.default.moveItem(atPath: temporary, toPath: path)
}

/// The same query for SQLite FTS5, over documents of our terms: each clause quoted (so FTS5
/// reads it as the term it is), phrases as FTS5 phrases, prefixes as FTS5 prefix queries.
func fts5(_ query: SearchQuery) -> String {
    query.clauses.map { clause in
        switch clause {
        case let .term(term): "\"\(term)\""
        case let .prefix(prefix): "\"\(prefix)\"*"
        case let .phrase(terms): "\"" + terms.joined(separator: " ") + "\""
        }
    }.joined(separator: " AND ")
}

func searchBenchmark(_ arguments: [String]) throws {
    guard arguments.count == 4, let count = Int(arguments[1]), let runs = Int(arguments[2]) else {
        FileHandle.standardError.write(Data("usage: voxbench search DATA_DIR TRANSCRIPTS RUNS OUT_JSON\n".utf8))
        exit(2)
    }
    let directory = arguments[0] + "/search"
    let docsPath = arguments[0] + "/search-docs.tsv"
    let marker = directory + "/seeded-\(count)"
    let end = Date(timeIntervalSince1970: 1_790_000_000)
    let span = 365.0 * 86_400
    var results: [[String: Any]] = []

    if !FileManager.default.fileExists(atPath: marker) {
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: docsPath)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try Database(path: directory)
        let owner = try Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
            .create(email: "search@example.com", role: .operator, password: "search password")
        let (accountID, applicationID) = try database.environment.write { txn in
            let account = Account(id: 1, ownerUserID: owner.id, voximplantAccountID: "1", name: "Bench", currency: "RUB")
            try database.accounts.put(txn, 1, account)
            let app = Application(id: 1, accountID: 1, name: "Bench", elevenLabsAgentID: "agent", phoneNumber: "+74950000000")
            try database.applications.put(txn, 1, app)
            return (UInt64(1), UInt64(1))
        }
        var corpus = SearchCorpus(seed: 17)
        let store = CallStore(database: database)
        var numbers = SplitMix(seed: 99)
        let started = DispatchTime.now().uptimeNanoseconds
        var written = 0
        while written < count {
            let size = min(1_000, count - written)
            try database.environment.write { txn in
                for i in 0..<size {
                    let n = written + i
                    let start = end.addingTimeInterval(-span + span * Double(n) / Double(count))
                    let russian = n % 2 == 0
                    let from = "+7" + String(9_000_000_000 + numbers.next() % 999_999_999)
                    let conversation = "conv_\(n)"
                    let turns = corpus.transcript(russian: russian)
                    let call = Call(ownerUserID: owner.id, accountID: accountID, applicationID: applicationID,
                                    voximplantSessionID: UInt64(n + 1), conversationID: conversation, direction: .inbound,
                                    fromNumber: from, toNumber: "+74950000000", startedAt: start, durationSeconds: 60,
                                    status: .answered)
                    try store.upsert(call, in: txn)
                    try store.saveTranscript(Transcript(conversationID: conversation, turns: turns), owner: owner.id, in: txn)
                }
            }
            written += size
            if written % 100_000 == 0 { say("  \(written) transcripts…") }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        say(String(format: "search: seeded %d calls with transcripts in %.1f s (%.0f/s, with the index)", count, seconds, Double(count) / seconds))
        FileManager.default.createFile(atPath: marker, contents: nil)
    }

    let database = try Database(path: directory)
    if !FileManager.default.fileExists(atPath: docsPath) { try writeDocuments(database, to: docsPath) }
    guard let owner = try Users(database: database).find(email: "search@example.com") else { throw CocoaError(.fileReadCorruptFile) }
    let search = TranscriptSearch(database: database)
    let indexBytes = try search.indexBytes()
    say(String(format: "search: index %.1f MB for %d transcripts", Double(indexBytes) / 1e6, count))
    results.append(["name": "search_index_mb", "unit": "MB", "value": Double(indexBytes) / 1e6])

    let lastWeek = CallFilter(from: end.addingTimeInterval(-7 * 86_400), to: end.addingTimeInterval(1))
    // A number that is in the data: the last call's caller.
    let someNumber = try CallQueries(database: database).page(viewer: owner, filter: CallFilter(), limit: 1).calls.first.map {
        String(PhoneNumber.digits($0.fromNumber).suffix(4))
    } ?? "0000"
    let shapes: [(String, String, CallFilter, String)] = [
        ("search_rare", "chargeback", CallFilter(), "a word in 0.1% of transcripts"),
        ("search_common", "да", CallFilter(), "the commonest Russian word"),
        ("search_two_terms", "refund card", CallFilter(), "two words, AND"),
        ("search_phrase", "\"money back\"", CallFilter(), "a phrase in 1% of transcripts"),
        ("search_prefix", "возвр*", CallFilter(), "a prefix"),
        ("search_common_7_days", "yes", lastWeek, "a common word, last 7 days"),
        ("search_common_number", "yes", CallFilter(number: someNumber), "a common word, last 4 digits"),
        ("search_no_match", "nosuchwordanywhere", CallFilter(), "no match"),
    ]
    var queries: [[String: Any]] = []
    for (name, text, filter, label) in shapes {
        let query = try SearchQuery(text)
        var samples: [Double] = []
        var ids: [UInt64] = []
        for _ in 0..<runs {
            samples.append(try elapsedMs { ids = try search.search(query, viewer: owner, filter: filter, limit: 50).calls.map(\.id) })
        }
        let found = ids.count
        let p50 = percentile(samples, 0.5), p99 = percentile(samples, 0.99)
        say(String(format: "%-24@ p50 %7.3f ms  p99 %7.3f ms  %2d found   %@", name as NSString, p50, p99, found, label))
        results.append(["name": name + "_p50_ms", "unit": "ms", "value": p50, "label": label])
        results.append(["name": name + "_p99_ms", "unit": "ms", "value": p99, "label": label])
        var shape: [String: Any] = ["name": name, "query": text, "found": found, "ids": ids, "fts5": fts5(query)]
        if let from = filter.from { shape["from_micros"] = Time.micros(from) }
        if let to = filter.to { shape["to_micros"] = Time.micros(to) }
        if let number = filter.number { shape["number"] = number }
        queries.append(shape)
    }

    // Indexing cost on ingest: what the ElevenLabs webhook's commit does per transcript
    // (store it, link it to its call, index it), against storing the same JSON alone.
    let scratch = arguments[0] + "/search-ingest-scratch"
    try? FileManager.default.removeItem(atPath: scratch)
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let fresh = try Database(path: scratch)
    let store = CallStore(database: fresh)
    let n = 20_000
    var corpus = SearchCorpus(seed: 5)
    let transcripts = (0..<n).map { Transcript(conversationID: "conv_\($0)", turns: corpus.transcript(russian: $0 % 2 == 0)) }
    try fresh.environment.write { txn in
        for i in 0..<n {
            try store.upsert(Call(ownerUserID: 1, accountID: 1, applicationID: 1, voximplantSessionID: UInt64(i + 1),
                                  conversationID: "conv_\(i)", direction: .inbound, fromNumber: "+79990000000", toNumber: "+74950000000",
                                  startedAt: end.addingTimeInterval(Double(i) * 30), durationSeconds: 60, status: .answered), in: txn)
        }
    }
    let plain = try elapsedMs {
        for batch in stride(from: 0, to: n, by: 100) {
            try fresh.environment.write { txn in
                for t in transcripts[batch..<min(n, batch + 100)] { try fresh.transcripts.put(txn, (2, t.conversationID), t) }
            }
        }
    }
    let indexed = try elapsedMs {
        for batch in stride(from: 0, to: n, by: 100) {
            try fresh.environment.write { txn in
                for t in transcripts[batch..<min(n, batch + 100)] { try store.saveTranscript(t, owner: 1, in: txn) }
            }
        }
    }
    try? FileManager.default.removeItem(atPath: scratch)
    let plainMicros = plain * 1000 / Double(n), indexedMicros = indexed * 1000 / Double(n)
    say(String(format: "search: a transcript stored alone %.0f µs; stored, linked and indexed %.0f µs (commits of 100)", plainMicros, indexedMicros))
    results.append(["name": "search_store_transcript_us", "unit": "µs", "value": plainMicros, "label": "store the transcript only"])
    results.append(["name": "search_index_transcript_us", "unit": "µs", "value": indexedMicros, "label": "store, link and index"])

    let json = try JSONSerialization.data(withJSONObject: ["results": results, "queries": queries, "runs": runs, "documents": count],
                                          options: [.prettyPrinted, .sortedKeys])
    try json.write(to: URL(fileURLWithPath: arguments[3]))
}

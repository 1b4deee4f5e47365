import Foundation
import KVStore

/// Realistic calls for a new installation and for benchmarks: several applications, statuses
/// in plausible proportions, Russian and international numbers, transcripts for some.
/// Deterministic for a given seed, so a benchmark data set can be rebuilt identically.
public struct DemoData {
    let database: Database
    var random: SplitMix

    public init(database: Database, seed: UInt64 = 2026) {
        self.database = database
        self.random = SplitMix(seed: seed)
    }

    /// Creates two demo accounts with applications for `owner` and `count` calls ending at
    /// `end`, spread over `days`. Returns the number of calls written.
    @discardableResult
    public mutating func seed(owner: User, calls count: Int, days: Int = 90, end: Date = Date(),
                              batch: Int = 1_000, progress: ((Int) -> Void)? = nil) throws -> Int {
        let applications = try makeApplications(owner: owner)
        let store = CallStore(database: database)
        let span = Double(days) * 86_400
        // Session ids from the seed, so two seedings never collide (an upsert would merge them).
        let firstSession = 1_000_000_000 + random.next() % 1_000_000_000_000
        var written = 0
        while written < count {
            let size = min(batch, count - written)
            var calls: [Call] = []
            var transcripts: [Transcript] = []
            calls.reserveCapacity(size)
            for index in 0..<size {
                let n = written + index
                // Calls spread evenly in time with jitter; a daily rhythm would be prettier but
                // evenness keeps benchmark ranges comparable.
                let start = end - span + span * (Double(n) + random.unit()) / Double(count)
                let (call, transcript) = makeCall(
                    owner: owner, application: applications[Int(random.next() % UInt64(applications.count))],
                    session: firstSession + UInt64(n), start: start)
                calls.append(call)
                if let transcript { transcripts.append(transcript) }
            }
            try database.environment.write { txn in
                for transcript in transcripts { try database.transcripts.put(txn, (owner.id, transcript.conversationID), transcript) }
                for call in calls { try store.upsert(call, in: txn) }
            }
            written += size
            progress?(written)
        }
        return written
    }

    private mutating func makeApplications(owner: User) throws -> [(Application, Account)] {
        try database.environment.write { txn in
            let specs: [(String, String, [(String, String, String)])] = [
                ("Moscow office", "RUB", [("Support line", "+74951234567", "agent_support"),
                                          ("Delivery updates", "+78123334455", "agent_delivery")]),
                ("International", "USD", [("Sales EN", "+12025550143", "agent_sales"),
                                          ("Bookings UK", "+442079460000", "agent_bookings")]),
            ]
            var result: [(Application, Account)] = []
            for (name, currency, apps) in specs {
                let account = Account(id: try database.nextID("accounts", in: txn), ownerUserID: owner.id,
                                      voximplantAccountID: String(1_000_000 + random.next() % 9_000_000),
                                      name: name, currency: currency)
                try database.accounts.put(txn, account.id, account)
                for (appName, number, agent) in apps {
                    let application = Application(
                        id: try database.nextID("applications", in: txn), accountID: account.id, name: appName,
                        elevenLabsAgentID: agent + "_" + String(random.next() % 100_000), phoneNumber: number,
                        voximplantApplicationID: 10_000 + random.next() % 90_000, status: .deployed)
                    try database.applications.put(txn, application.id, application)
                    result.append((application, account))
                }
            }
            return result
        }
    }

    private mutating func makeCall(owner: User, application: (Application, Account), session: UInt64, start: Date) -> (Call, Transcript?) {
        let (app, account) = application
        let roll = random.unit()
        let status: CallStatus = roll < 0.70 ? .answered : roll < 0.85 ? .noAnswer : roll < 0.92 ? .busy : .failed
        let inbound = random.unit() < 0.8
        let remote = remoteNumber(domestic: account.currency == "RUB")
        let duration = status == .answered ? Int(20 + 400 * pow(random.unit(), 2)) : 0
        // Per-minute billing, rounded up, at a rate typical of the currency.
        let ratePerMinute = account.currency == "RUB" ? 1.9 : 0.024
        let minutes = Double((duration + 59) / 60)
        let cost = Money(decimal: minutes * ratePerMinute, currency: account.currency)
        let conversation = status == .answered ? "conv_" + String(session, radix: 36) : nil
        var call = Call(
            ownerUserID: owner.id, accountID: account.id, applicationID: app.id, voximplantSessionID: session,
            conversationID: conversation, direction: inbound ? .inbound : .outbound,
            fromNumber: inbound ? remote : app.phoneNumber, toNumber: inbound ? app.phoneNumber : remote,
            startedAt: start, endedAt: start + Double(duration), durationSeconds: duration,
            cost: status == .answered ? cost : Money(micros: 0, currency: account.currency), status: status,
            finishReason: status == .answered ? "Normal termination" : status == .busy ? "Busy" : status == .noAnswer ? "No answer" : "Service unavailable")
        guard let conversation, random.unit() < 0.5 else { return (call, nil) }
        call.hasTranscript = true
        return (call, transcript(conversation: conversation, duration: duration))
    }

    private mutating func remoteNumber(domestic: Bool) -> String {
        let digits = { (count: Int, r: inout SplitMix) in (0..<count).map { _ in String(r.next() % 10) }.joined() }
        if domestic || random.unit() < 0.3 {
            let codes = ["916", "903", "925", "985", "999", "926", "495", "812"]
            let code = codes[Int(random.next() % UInt64(codes.count))]
            let rest = digits(7, &random)
            return "+7 (\(code)) \(rest.prefix(3))-\(rest.dropFirst(3).prefix(2))-\(rest.suffix(2))"
        }
        let international = [("+1", 10), ("+44", 10), ("+49", 11), ("+33", 9), ("+971", 9), ("+90", 10)]
        let (prefix, length) = international[Int(random.next() % UInt64(international.count))]
        return prefix + " " + digits(length, &random)
    }

    private mutating func transcript(conversation: String, duration: Int) -> Transcript {
        let script: [(String, String)] = [
            ("agent", "Hello! You have reached the support line. How can I help you today?"),
            ("user", "Hi, I would like to check the status of my order."),
            ("agent", "Of course. Could you tell me the order number, please?"),
            ("user", "It is 4 8 1 5 1 6."),
            ("agent", "Thank you. Your order is on its way and should arrive tomorrow before noon."),
            ("user", "Great, thanks a lot."),
            ("agent", "You are welcome. Is there anything else I can help with?"),
            ("user", "No, that's all. Goodbye."),
        ]
        let turns = script.enumerated().map { index, turn in
            Transcript.Turn(role: turn.0, text: turn.1, secondsIntoCall: duration * index / script.count)
        }
        let success = random.unit() < 0.85
        return Transcript(conversationID: conversation, turns: turns,
                          summary: success ? "The caller asked about an order; the agent confirmed delivery for tomorrow."
                              : "The caller hung up before the agent could help.",
                          successVerdict: success ? "success" : "failure")
    }
}

/// SplitMix64: small, fast, repeatable.
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

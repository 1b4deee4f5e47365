import CryptoPrimitives
import Foundation
import KVStore
import ObjectStore
import VoxCore

/// A few demo calls with a recording and a transcript that line up, so that a first look at
/// `make demo` shows the player following the transcript. The audio is synthesized, not
/// speech: each line is a run of voiced "syllables" at the speaker's pitch (the agent higher
/// than the caller) for as long as the line would take to say, then a pause, so the player
/// can be seen moving from line to line. 8 kHz 16-bit mono WAV, as telephone audio is.
public struct DemoRecordings {
    public let database: Database
    public let store: LocalDiskStore

    public init(database: Database, store: LocalDiskStore) {
        self.database = database
        self.store = store
    }

    static let sampleRate = 8_000
    /// Seconds per word, roughly conversational speed.
    static let secondsPerWord = 0.36
    static let pause = 0.7

    /// Conversations in both languages, each about one thing, so a search finds one of them.
    static let conversations: [[(role: String, text: String)]] = [
        [("agent", "Good afternoon, this is the support line. How can I help?"),
         ("user", "Hello. My card was charged twice for the same order and I would like a refund."),
         ("agent", "I am sorry about that. Could you give me the order number?"),
         ("user", "Yes, it is 4 8 1 5 1 6."),
         ("agent", "Thank you. I can see the duplicate payment; the refund will reach your card within three days."),
         ("user", "Great, thank you very much.")],
        [("agent", "Здравствуйте! Служба доставки, чем могу помочь?"),
         ("user", "Добрый день. Курьер не приехал, хотя доставка была назначена на сегодня."),
         ("agent", "Приношу извинения. Назовите, пожалуйста, номер заказа."),
         ("user", "Двадцать три сорок два."),
         ("agent", "Вижу ваш заказ. Курьер задерживается и приедет до восьми вечера."),
         ("user", "Хорошо, буду ждать. Спасибо.")],
        [("agent", "Hello, bookings. How may I help you today?"),
         ("user", "I need to move my appointment from Thursday to Friday morning."),
         ("agent", "Let me check. Friday at ten is free. Shall I book it?"),
         ("user", "Yes please, ten is perfect."),
         ("agent", "Done. You will get a text message with the new time.")],
        [("agent", "Добрый день! Банк, оператор слушает."),
         ("user", "Здравствуйте, мою карту заблокировали после покупки за границей."),
         ("agent", "Понимаю. Для проверки назовите последние четыре цифры карты."),
         ("user", "Семь семь ноль один."),
         ("agent", "Спасибо. Карта разблокирована, можно снова пользоваться. Возврат комиссии придёт завтра."),
         ("user", "Отлично, спасибо за помощь.")],
    ]

    /// Adds the demo calls with recordings for `owner`, on the owner's first demo application,
    /// ending a little before `now`. Returns their ids.
    @discardableResult
    public func add(owner: User, now: Date = Date()) throws -> [UInt64] {
        guard let (application, _) = try firstApplication(of: owner) else { return [] }
        let store = CallStore(database: database)
        var ids: [UInt64] = []
        for (index, lines) in Self.conversations.enumerated() {
            let (wav, turns, seconds) = Self.render(lines, seed: UInt64(index))
            let start = now.addingTimeInterval(-Double(index + 1) * 3_700)
            let conversation = "conv_demo_audio_\(index)"
            var call = Call(ownerUserID: owner.id, accountID: application.accountID, applicationID: application.id,
                            voximplantSessionID: 9_000_000_000 + UInt64(index), conversationID: conversation,
                            direction: .inbound, fromNumber: index % 2 == 0 ? "+442079460018" : "+79161234567",
                            toNumber: application.phoneNumber, startedAt: start, endedAt: start + Double(seconds),
                            durationSeconds: seconds, cost: nil, status: .answered, finishReason: "Normal termination")
            let id = try database.environment.write { txn in
                try store.saveTranscript(Transcript(conversationID: conversation, turns: turns,
                                                    summary: nil, successVerdict: "success"), owner: owner.id, in: txn)
                return try store.upsert(call, in: txn).callID
            }
            call.id = id
            let key = try ObjectKey(RecordingArchiver.key(for: call, contentType: "audio/wav"))
            let stored = try self.store.put(key, from: BytesSource(wav), contentType: "audio/wav")
            let reference = RecordingRef(store: RecordingRef.localStore, key: key.rawValue, size: stored.size,
                                         contentType: "audio/wav", sha256: SHA256.hash(wav).hexString)
            try database.environment.write { txn in
                _ = try store.update(id: id, in: txn) { $0.recording = reference }
            }
            ids.append(id)
        }
        return ids
    }

    private func firstApplication(of owner: User) throws -> (Application, Account)? {
        try database.environment.read { txn in
            var found: (Application, Account)?
            try database.applications.scan(txn) { _, application in
                if let account = try database.accounts.get(txn, application.accountID), account.ownerUserID == owner.id {
                    found = (application, account)
                    return false
                }
                return true
            }
            return found
        }
    }

    /// The WAV, the transcript turns with the second each line starts at, and the length.
    static func render(_ lines: [(role: String, text: String)], seed: UInt64) -> ([UInt8], [Transcript.Turn], Int) {
        var random = SplitMix(seed: seed &+ 77)
        var samples: [Int16] = []
        var turns: [Transcript.Turn] = []
        var time = 0.8
        samples.append(contentsOf: repeatElement(0, count: Int(time * Double(sampleRate))))
        for line in lines {
            // The line starts on a whole second, so the transcript's time is exact.
            let startSecond = Int(time.rounded(.up))
            samples.append(contentsOf: repeatElement(0, count: (startSecond * sampleRate) - samples.count))
            turns.append(Transcript.Turn(role: line.role, text: line.text, secondsIntoCall: startSecond))
            let pitch = line.role == "agent" ? 210.0 : 135.0
            for _ in line.text.split(separator: " ") {
                let length = Int(secondsPerWord * Double(sampleRate) * (0.75 + 0.5 * random.unit()))
                let wobble = 1 + 0.08 * (random.unit() - 0.5)
                for n in 0..<length {
                    let t = Double(n) / Double(sampleRate)
                    let envelope = sin(Double.pi * Double(n) / Double(length))
                    let f = pitch * wobble * (1 + 0.04 * sin(2 * Double.pi * 3 * t))
                    let voice = sin(2 * .pi * f * t) + 0.5 * sin(4 * .pi * f * t) + 0.25 * sin(6 * .pi * f * t)
                    samples.append(Int16(clamping: Int(5_500 * envelope * voice)))
                }
            }
            time = Double(samples.count) / Double(sampleRate) + pause
            samples.append(contentsOf: repeatElement(0, count: Int(pause * Double(sampleRate))))
        }
        samples.append(contentsOf: repeatElement(0, count: sampleRate))
        return (wav(samples), turns, samples.count / sampleRate)
    }

    static func wav(_ samples: [Int16]) -> [UInt8] {
        var bytes: [UInt8] = []
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        let dataSize = UInt32(samples.count * 2)
        bytes.append(contentsOf: Array("RIFF".utf8)); le32(36 + dataSize)
        bytes.append(contentsOf: Array("WAVEfmt ".utf8)); le32(16); le16(1); le16(1)
        le32(UInt32(sampleRate)); le32(UInt32(sampleRate * 2)); le16(2); le16(16)
        bytes.append(contentsOf: Array("data".utf8)); le32(dataSize)
        for sample in samples { le16(UInt16(bitPattern: sample)) }
        return bytes
    }
}

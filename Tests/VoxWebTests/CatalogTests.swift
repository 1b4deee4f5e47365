import FastCGI
import Foundation
import Integrations
import ObjectStore
import Testing
import VoxCore
import VoxServices
@testable import VoxWeb

/// The two catalogs agree, every key a template names exists, plural forms are Russian's,
/// and pages rendered in Russian show no missing key.
@Suite struct CatalogTests {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/VoxWeb/Templates").standardized

    @Test func bothLanguagesHaveTheSameKeysAndPlaceholders() {
        let en = Catalog.english.strings, ru = Catalog.russian.strings
        #expect(Set(en.keys) == Set(ru.keys), "\(Set(en.keys).symmetricDifference(ru.keys).sorted())")
        let placeholder = /\{[a-z]+\}/
        for (key, english) in en {
            let russian = ru[key] ?? ""
            #expect(Set(english.matches(of: placeholder).map { String($0.output) }) == Set(russian.matches(of: placeholder).map { String($0.output) }),
                    "\(key)")
            #expect(!russian.isEmpty, "\(key) is empty in Russian")
        }
    }

    @Test func everyKeyATemplateNamesExists() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.templates.path).filter { $0.hasSuffix(".mustache") }
        #expect(files.count > 15)
        var named = 0
        for file in files {
            let text = try String(contentsOf: Self.templates.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /\{\{t\.([A-Za-z0-9_]+)\}\}/) {
                named += 1
                #expect(Catalog.english.strings[String(match.output.1)] != nil, "\(file): t.\(match.output.1)")
            }
        }
        #expect(named > 150)
    }

    @Test(arguments: [(1, "one"), (2, "few"), (4, "few"), (5, "many"), (11, "many"), (12, "many"), (14, "many"), (21, "one"),
                      (22, "few"), (25, "many"), (101, "one"), (111, "many"), (0, "many")])
    func russianPluralForms(n: Int64, form: String) {
        #expect(Catalog.pluralForm(n, .ru) == form)
    }

    @Test func callCountsReadRight() {
        let ru = Formatting(timeZone: .gmt, catalog: .russian)
        #expect(ru.count("calls_total", 1) == "1 звонок")
        #expect(ru.count("calls_total", 2) == "2 звонка")
        #expect(ru.count("calls_total", 5) == "5 звонков")
        #expect(ru.count("calls_total", 1_000_000) == "1\u{202F}000\u{202F}000 звонков")
        #expect(Formatting(timeZone: .gmt).count("calls_total", 1) == "1 call")
        #expect(ru.amount(micros: 1_234_500_000, currency: "RUB") == "1\u{202F}234,50 ₽")
        #expect(ru.amount(micros: 4_968_000_000, currency: "USD") == "$4\u{202F}968,00")
        #expect(Formatting(timeZone: .gmt).amount(micros: 4_968_000_000, currency: "USD") == "$4\u{202F}968.00")
        #expect(ru.dateTime(Date(timeIntervalSince1970: 1_796_169_600)).hasPrefix("2 дек. 2026"))
    }

    @Test func languageComesFromTheProfileThenTheBrowser() {
        #expect(Language.resolve(profile: "ru", acceptLanguage: "en-US") == .ru)
        #expect(Language.resolve(profile: nil, acceptLanguage: "de-DE, ru;q=0.8, en;q=0.5") == .ru)
        #expect(Language.resolve(profile: nil, acceptLanguage: "en-GB,en;q=0.9,ru;q=0.8") == .en)
        #expect(Language.resolve(profile: nil, acceptLanguage: "fr") == .en)
        #expect(Language.resolve(profile: nil, acceptLanguage: "ru;q=nan, en;q=0.1") == .en)
        #expect(Language.resolve(profile: "xx", acceptLanguage: nil) == .en)
    }

    @Test func pagesInRussianShowNoMissingKey() throws {
        let (harness, alice, app) = try CallPagesTests().aliceHarness()
        let admin = try #require(try harness.services.users.find(email: "admin@example.com"))
        try harness.services.users.setProfile(of: alice, timeZone: "Europe/Moscow", language: "ru", address: "test")
        try harness.services.users.setProfile(of: admin, timeZone: "UTC", language: "ru", address: "test")
        let call = CallPagesTests().call(alice, app, session: 1, at: harness.clock.now() - 3600)
        let id = try CallStore(database: harness.database).upsert([call])[0].callID
        harness.cookies = [:]
        harness.login(email: "alice@example.com")
        for path in ["/", "/calls", "/calls/\(id)", "/statistics", "/profile"] {
            let html = harness.body(harness.get(path))
            #expect(!html.contains("⟦"), "\(path)")
            #expect(html.contains("<html lang=\"ru\""), "\(path)")
        }
        // Errors a person fixes speak the language too.
        let missing = harness.body(harness.get("/calls/999999"))
        #expect(missing.contains("404 · Не найдено"))
        #expect(Catalog.russian.message(UserError.rejectedPassword(.tooShort)).contains("не меньше 12 символов"))
        #expect(Catalog.russian.message(TeamError.lastAdmin).contains("последний активный администратор"))
        let calls = harness.body(harness.get("/calls"))
        #expect(calls.contains("История звонков") && calls.contains("1 звонок") && calls.contains("отвечен"))
        harness.cookies = [:]
        harness.login()
        for path in ["/team", "/audit", "/setup", "/setup/storage", "/setup/accounts/10", "/applications", "/jobs", "/health", "/backups"] {
            let html = harness.body(harness.get(path))
            #expect(!html.contains("⟦") && html.contains("<html lang=\"ru\""), "\(path)")
        }
        // One click in the header switches back, and the profile remembers it.
        let csrf = harness.csrfToken(on: "/team")
        #expect(harness.post("/profile/language", form: [("language", "en")], csrf: csrf).status == .seeOther)
        #expect(harness.body(harness.get("/team")).contains("<html lang=\"en\""))
        #expect(try harness.services.users.find(email: "admin@example.com")?.language == "en")
    }

    /// Every Setup problem, written out: a new case must be added here, and so to both catalogs.
    static let setupProblems: [SetupProblem] = [
        .accountNameMissing, .accountIDNotANumber, .accountCredentialsMissing, .accountAPIKeyMissing, .accountNeedsCredentials,
        .accountAlreadyConnected(voximplantAccountID: "7"), .accountInUse(applications: "Sales"),
        .serviceAccountOfAnotherAccount(file: "1", given: "2"), .savedServiceAccountOfAnotherAccount(saved: "1", given: "2"),
        .serviceAccountTooLong, .serviceAccountNotJSON, .serviceAccountFieldMissing("key_id"), .serviceAccountKeyUnreadable,
        .serviceAccountKeyNotRSA, .serviceAccountKeyTooShort(bits: 1024, minimum: 2048), .keyNameMissing, .keyAPIKeyMissing,
        .keyInUse, .webhookSecretTooShort(minimum: 32), .webhookNeedsHTTPS(publicURL: "http://x"),
        .workspaceWebhookNotOurs(webhookID: "wh"), .ownersDiffer, .applicationNameMissing, .phoneNumberMissing,
        .agentIDMissing, .unknownAgent(agentID: "agent_x"),
    ]

    @Test func setupProblemsAreSaidInBothLanguages() {
        #expect(Set(Self.setupProblems.map(\.key)) == Set(SetupProblem.english.keys))
        for problem in Self.setupProblems {
            let russian = Catalog.russian.message(SetupError.invalid(problem))
            #expect(!russian.contains("⟦") && !russian.contains("{") && russian != problem.description, "\(problem.key)")
            #expect(Catalog.english.message(SetupError.invalid(problem)) == problem.description)
        }
        #expect(Catalog.russian.message(SetupError.invalid(.serviceAccountOfAnotherAccount(file: "15", given: "16")))
            == "Файл сервисного аккаунта относится к аккаунту Voximplant 15, а не 16.")
    }

    @Test func upstreamErrorsStepsAndNotesAreSaidInRussian() {
        let ru = Catalog.russian
        #expect(ru.message(VoximplantError.upstream(.timeout(service: "Voximplant"))) == "Voximplant не ответил вовремя")
        #expect(ru.message(VoximplantError.api(code: 125, message: "Invalid rule")) == "Ошибка Voximplant 125: Invalid rule")
        #expect(ru.message(ElevenLabsError.invalidAPIKey("x")) == "ElevenLabs не принял API-ключ")
        #expect(ru.message(ObjectStoreError.unavailable("timeout")) == "хранилище недоступно: timeout")
        #expect(ru.message(Vault.VaultError.unknownKey(3)).contains("мастер-ключом 3"))

        // A step survives being stored, and reads in the reader's language; a line stored as
        // English by an earlier version is shown as it was.
        let stopped = DeploymentStep(stored: DeploymentStep.stopped(.authentication("Authorization failed")).stored)
        #expect(stopped == .stopped(.authentication("Authorization failed")) && !stopped.succeeded)
        #expect(ru.step(stopped).hasPrefix("✗ Остановлено: Voximplant не принял учётные данные"))
        #expect(ru.step(DeploymentStep(stored: DeploymentStep.applicationCreated(name: "voxfcgi-3", id: 9, secure: true).stored))
            == "✓ Приложение voxfcgi-3 создано (id 9), защищённое хранение записей")
        #expect(Catalog.english.step(.numberBound(number: "74951234567")) == "✓ Number +7 495 123-45-67 bound to the application")
        #expect(ru.step(DeploymentStep(stored: "✓ Scenario 5 updated")) == "✓ Scenario 5 updated")

        let note = RecordingNote(withToken: false, status: 401, fallback: .archived)
        #expect(RecordingNote(stored: note.stored) == note)
        #expect(ru.recordingNote(note.stored) == ru("recording_refused_no_token", ["status": "401"]) + " " + ru("recording_fallback_archived"))
        #expect(ru.recordingNote(note.stored).contains("HTTP 401"))
        #expect(ru.recordingNote("An English note from before.") == "An English note from before.")
        for stored in ["refused:token:99:awaited", "refused:maybe:401:none", "refused:token:401", "x:token:401:none"] {
            #expect(RecordingNote(stored: stored) == nil, "\(stored)")
        }

        for problem in S3Configuration.Problem.allCases { #expect(ru.strings["s3_problem_" + problem.rawValue] != nil, "\(problem)") }
        let kinds: [JobKind] = [.fetchTranscript, .archiveRecording, .deleteRecording, .syncAccount, .fetchSession, .backup,
                                .deleteVoximplantRecording, .deleteConversation]
        for kind in kinds { #expect(ru.jobKind(kind.rawValue) != kind.rawValue, "\(kind)") }
        #expect(ru.jobKind("test-kind") == "test-kind")
    }

    @Test func chartDaysAndCSVHeadersAreInTheViewersLanguage() {
        let days = ["2026-12-02", "2027-01-15", "not a day"]
        let russian = Formatting(timeZone: .gmt, catalog: .russian).chartLabels(days: days)
        #expect(russian.map(\.axis) == ["2 дек.", "15 янв.", "not a day"])
        #expect(russian[0].full.hasPrefix("2 дек. 2026"))
        let english = Formatting(timeZone: .gmt, catalog: .english).chartLabels(days: days)
        #expect(english.map(\.axis) == ["2 Dec", "15 Jan", "not a day"] && english[1].full == "15 Jan 2027")

        #expect(CallsPage.csvHeader(CallsPage.exportColumns, .english).hasPrefix("call_id,started_at,direction,from,to,"))
        let header = CallsPage.csvHeader(CallsPage.exportColumns, .russian)
        #expect(header.hasPrefix("\u{FEFF}id_звонка,начало,") && header.hasSuffix("\r\n"))
        #expect(header.split(separator: ",").count == CallsPage.exportColumns.count)
    }
}

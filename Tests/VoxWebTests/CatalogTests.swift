import FastCGI
import Foundation
import Testing
import VoxCore
@testable import VoxWeb

/// The two catalogs agree, every key a template names exists, plural forms are Russian's,
/// and pages rendered in Russian show no missing key.
@Suite struct CatalogTests {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/VoxWeb/Templates").standardized

    @Test func bothLanguagesHaveTheSameKeysAndPlaceholders() {
        #expect(Set(Strings.en.keys) == Set(Strings.ru.keys), "\(Set(Strings.en.keys).symmetricDifference(Strings.ru.keys).sorted())")
        let placeholder = /\{[a-z]+\}/
        for (key, english) in Strings.en {
            let russian = Strings.ru[key] ?? ""
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
                #expect(Strings.en[String(match.output.1)] != nil, "\(file): t.\(match.output.1)")
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
        for path in ["/team", "/audit", "/setup", "/setup/storage", "/setup/accounts/10", "/applications", "/jobs"] {
            let html = harness.body(harness.get(path))
            #expect(!html.contains("⟦") && html.contains("<html lang=\"ru\""), "\(path)")
        }
        // One click in the header switches back, and the profile remembers it.
        let csrf = harness.csrfToken(on: "/team")
        #expect(harness.post("/profile/language", form: [("language", "en")], csrf: csrf).status == .seeOther)
        #expect(harness.body(harness.get("/team")).contains("<html lang=\"en\""))
        #expect(try harness.services.users.find(email: "admin@example.com")?.language == "en")
    }
}

import Foundation
import Templating
import VoxCore

/// The languages of the interface. The profile's choice wins, then the browser's
/// `Accept-Language` (the first of ours it names, by its q-values), then English.
enum Language: String, CaseIterable, Sendable {
    case en, ru

    static func resolve(profile: String?, acceptLanguage: String?) -> Language {
        if let profile, let chosen = Language(rawValue: profile) { return chosen }
        guard let header = acceptLanguage, header.utf8.count <= 512 else { return .en }
        let ranked = header.split(separator: ",").prefix(20).compactMap { part -> (Language, Double)? in
            let pieces = part.split(separator: ";")
            let tag = pieces.first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            guard let language = Language(rawValue: String(tag.prefix { $0 != "-" && $0 != "_" })) else { return nil }
            let q = pieces.dropFirst().compactMap { item -> Double? in
                let pair = item.trimmingCharacters(in: .whitespaces)
                return pair.hasPrefix("q=") ? Double(pair.dropFirst(2)) : nil
            }.first ?? 1
            return q.isFinite && q > 0 ? (language, q) : nil
        }
        return ranked.max { $0.1 < $1.1 }?.0 ?? .en
    }

    var locale: Locale { Locale(identifier: self == .ru ? "ru_RU" : "en_GB") }
}

/// The strings of one language: `catalog("key")` in Swift, `{{t.key}}` in a template. A key
/// missing from the catalog shows as ⟦key⟧, which the tests look for on every page.
struct Catalog: Sendable {
    let language: Language
    let strings: [String: String]
    /// The strings as a template reads them (`t`): made once per catalog, not per page.
    let templateStrings: TemplateValue

    init(language: Language, strings: [String: String]) {
        self.language = language
        self.strings = strings
        templateStrings = .object(strings.mapValues { .text($0) })
    }

    /// English includes the Setup problems, whose English lives with them in VoxCore.
    static let english = Catalog(language: .en, strings: Strings.en.merging(SetupProblem.english) { own, _ in own })
    static let russian = Catalog(language: .ru, strings: Strings.ru)

    static func of(_ language: Language) -> Catalog { language == .ru ? russian : english }

    /// The text of `key`, with `{name}` placeholders filled from `values`.
    func callAsFunction(_ key: String, _ values: [String: String] = [:]) -> String {
        guard var text = strings[key] else { return "⟦\(key)⟧" }
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text
    }

    /// `key.one` / `.few` / `.many` (Russian) or `.one` / `.other` (English) for `count`,
    /// with `{n}` filled in already formatted.
    func plural(_ key: String, _ count: Int64, formatted: String) -> String {
        self("\(key).\(Catalog.pluralForm(count, language))", ["n": formatted])
    }

    /// CLDR plural rules for whole numbers: Russian one (1, 21, 101…), few (2–4, 22–24…),
    /// many (0, 5–20, 25–30…); English one (1) and other.
    static func pluralForm(_ count: Int64, _ language: Language) -> String {
        let n = count.magnitude
        switch language {
        case .en: return n == 1 ? "one" : "other"
        case .ru:
            if n % 10 == 1 && n % 100 != 11 { return "one" }
            if (2...4).contains(n % 10) && !(12...14).contains(n % 100) { return "few" }
            return "many"
        }
    }
}

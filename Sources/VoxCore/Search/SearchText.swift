/// How transcript text becomes search terms, the same way for what is indexed and for what a
/// person types: one rule, so a query finds exactly what indexing stored.
///
/// - A word is a run of letters and digits (an apostrophe inside a word joins it: "don't" is
///   one word, `dont`). Everything else separates words.
/// - Case is folded (`lowercased()`, which folds Cyrillic too) and `ё` is `е`, as Russian
///   writers use them interchangeably.
/// - Digits stay: an order number or a sum is worth finding. A run of digits is one term.
/// - A light stemmer takes the commonest inflectional endings off Russian and English words,
///   so that "возврат" finds "возврата" and "refund" finds "refunds". It is deliberately light
///   (no Snowball): it only cuts an ending when at least three letters stay, and it cuts one
///   ending, so it rarely joins unrelated words. A prefix query (`возвр*`) covers the rest.
public enum SearchText {
    /// The longest word indexed, in UTF-8 bytes; a longer one is cut (it is a key part).
    public static let maxTermBytes = 64

    public struct Word: Sendable, Equatable {
        /// Where the word is in the original text (for highlighting).
        public var range: Range<String.Index>
        /// Its search term.
        public var term: String
    }

    /// The words of `text`, in order, with their terms.
    public static func words(in text: String) -> [Word] {
        var words: [Word] = []
        var start: String.Index?
        var folded = ""
        var index = text.startIndex
        func finish(at end: String.Index) {
            if let begin = start, !folded.isEmpty {
                words.append(Word(range: begin..<end, term: stem(folded)))
            }
            start = nil
            folded = ""
        }
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            if isWordCharacter(character) {
                if start == nil { start = index }
                appendFolded(character, to: &folded)
            } else if start != nil, isApostrophe(character), next < text.endIndex, isWordCharacter(text[next]) {
                // Inside a word: joins its halves, adds nothing.
            } else {
                finish(at: index)
            }
            index = next
        }
        finish(at: text.endIndex)
        return words
    }

    /// The terms of `text`, in order.
    public static func terms(in text: String) -> [String] { words(in: text).map(\.term) }

    /// A prefix as typed before `*`: folded like a word, not stemmed (a stem is itself a
    /// prefix of the words it came from, so matching stems by prefix finds them).
    public static func prefix(_ text: String) -> String {
        var folded = ""
        for character in text where isWordCharacter(character) { appendFolded(character, to: &folded) }
        return cut(folded)
    }

    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber
    }

    private static func isApostrophe(_ character: Character) -> Bool {
        character == "'" || character == "\u{2019}"
    }

    private static func appendFolded(_ character: Character, to folded: inout String) {
        for scalar in character.lowercased().unicodeScalars {
            switch scalar {
            case "ё": folded.unicodeScalars.append("е")
            // Combining marks (an accent typed over a vowel) are not part of the word.
            case _ where scalar.properties.generalCategory == .nonspacingMark: continue
            default: folded.unicodeScalars.append(scalar)
            }
        }
    }

    /// Cut to `maxTermBytes` at a character boundary.
    private static func cut(_ term: String) -> String {
        guard term.utf8.count > maxTermBytes else { return term }
        var out = ""
        for character in term {
            if out.utf8.count + character.utf8.count > maxTermBytes { break }
            out.append(character)
        }
        return out
    }

    // MARK: The light stemmer

    /// Russian endings, longest first, so the first that fits is the longest: the cases and
    /// numbers of nouns and adjectives, and the infinitive. Verb endings that are also the
    /// ends of common nouns (-ат, -ет, -ал, -ила …: "возврат", "сигнала") are left out: cutting
    /// them split a noun's forms ("возврат" → "возвр", "возврата" → "возврат").
    private static let russianEndings: [String] = [
        "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "ией", "иям", "иях",
        "ать", "ять", "ить", "еть",
        "ов", "ев", "ей", "ой", "ий", "ый", "ая", "яя", "ое", "ее", "ые", "ие", "ую", "юю", "ом", "ем",
        "ам", "ям", "ах", "ях", "ию", "ия", "ии", "ть",
        "а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й",
    ]

    static func stem(_ word: String) -> String {
        let word = cut(word)
        guard let first = word.unicodeScalars.first else { return word }
        if (0x0400...0x04FF).contains(first.value) { return stemRussian(word) }
        if first.isASCII, first.properties.isAlphabetic { return stemEnglish(word) }
        return word
    }

    private static func stemRussian(_ word: String) -> String {
        let letters = Array(word)
        for ending in russianEndings {
            let count = ending.count
            guard letters.count - count >= 3, word.hasSuffix(ending) else { continue }
            return String(letters.dropLast(count))
        }
        return word
    }

    private static func stemEnglish(_ word: String) -> String {
        var stem = word
        let count = word.count
        if count >= 5, word.hasSuffix("ies") {
            stem = String(word.dropLast(3)) + "y"
        } else if count >= 6, word.hasSuffix("ing") {
            stem = String(word.dropLast(3))
        } else if count >= 5, word.hasSuffix("ed"), !word.hasSuffix("eed") {
            stem = String(word.dropLast(2))
        } else if count >= 5, ["ches", "shes", "sses", "xes", "zes"].contains(where: word.hasSuffix) {
            stem = String(word.dropLast(2))
        } else if count >= 4, word.hasSuffix("s"), !word.hasSuffix("ss"), !word.hasSuffix("us"), !word.hasSuffix("is") {
            stem = String(word.dropLast(1))
        }
        // "charge", "charges", "charged", "charging": one stem without the silent e.
        if stem.count >= 5, stem.hasSuffix("e"), !stem.hasSuffix("ee") { stem.removeLast() }
        return stem
    }
}

/// How transcript text becomes search terms, the same way for what is indexed and for what a
/// person types: one rule, so a query finds exactly what indexing stored.
///
/// - A word is a run of letters and digits (an apostrophe inside a word joins it: "don't" is
///   one word, `dont`). Everything else separates words.
/// - Case is folded and `ё` is `е`, as Russian writers use them interchangeably. Combining
///   marks (an accent typed over a vowel) are dropped.
/// - Digits stay: an order number or a sum is worth finding. A run of digits is one term.
/// - A light stemmer takes the commonest inflectional endings off Russian and English words,
///   so that "возврат" finds "возврата" and "refund" finds "refunds". It is deliberately light
///   (no Snowball): it only cuts an ending when at least three letters stay, and it cuts one
///   ending, so it rarely joins unrelated words. A prefix query (`возвр*`) covers the rest.
///
/// The work is done on Unicode scalars and UTF-8 bytes, with fast paths for ASCII and
/// Cyrillic: indexing runs it over every word of every transcript inside a write
/// transaction, and `Character`-level work (grapheme breaking, per-character strings,
/// comparisons that normalize) cost most of the time of indexing.
public enum SearchText {
    /// The longest term, in UTF-8 bytes; a longer word is cut (a term is part of a key).
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
        scan(text) { range, term in
            words.append(Word(range: range, term: String(decoding: term, as: UTF8.self)))
            return true
        }
        return words
    }

    /// The terms of `text`, in order.
    public static func terms(in text: String) -> [String] {
        var terms: [String] = []
        scan(text) { _, term in
            terms.append(String(decoding: term, as: UTF8.self))
            return true
        }
        return terms
    }

    /// The terms of `text` as UTF-8, in order: what indexing groups (bytes hash and compare
    /// without the normalization that non-ASCII `String` comparison needs).
    /// Stops when `body` returns false: indexing caps the words of a transcript, and must not
    /// fold and stem the rest of a hostile 60 MB one to throw it away.
    static func termBytes(in text: String, _ body: ([UInt8]) -> Bool) {
        scan(text) { _, term in body(term) }
    }

    /// Where words whose term passes `matches` are, at most `limit` of them, looking at no more
    /// than `maxWords` words: what a search result's line marks.
    public static func hits(in text: String, limit: Int, maxWords: Int = 20_000, _ matches: (String) -> Bool) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var seen = 0
        scan(text) { range, term in
            seen += 1
            if matches(String(decoding: term, as: UTF8.self)) { ranges.append(range) }
            return ranges.count < limit && seen < maxWords
        }
        return ranges
    }

    /// A prefix as typed before `*`: folded like a word, not stemmed (a stem is itself a
    /// prefix of the words it came from, so matching stems by prefix finds them).
    public static func prefix(_ text: String) -> String {
        var folded: [UInt8] = []
        for scalar in text.unicodeScalars where isWordScalar(scalar) { fold(scalar, into: &folded) }
        return String(decoding: cut(folded), as: UTF8.self)
    }

    /// The stem of a folded word (a prefix as typed may be a whole word: `charge*` must find
    /// `charg`, the term "charge" was indexed as).
    public static func stemmed(_ folded: String) -> String {
        String(decoding: stem(Array(folded.utf8)), as: UTF8.self)
    }

    // MARK: Scanning

    /// Calls `body` with each word's range and term, until it returns false.
    private static func scan(_ text: String, _ body: (Range<String.Index>, [UInt8]) -> Bool) {
        let scalars = text.unicodeScalars
        var start: String.Index?
        var folded: [UInt8] = []
        folded.reserveCapacity(32)
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let next = scalars.index(after: index)
            if isWordScalar(scalar) {
                if start == nil { start = index }
                fold(scalar, into: &folded)
            } else if start != nil, isMark(scalar) {
                // Part of the letter before it; adds nothing to the term.
            } else if start != nil, scalar == "'" || scalar == "\u{2019}", next < scalars.endIndex, isWordScalar(scalars[next]) {
                // An apostrophe inside a word joins its halves.
            } else if let begin = start {
                guard body(begin..<index, stem(cut(folded))) else { return }
                start = nil
                folded.removeAll(keepingCapacity: true)
            }
            index = next
        }
        if let begin = start { _ = body(begin..<scalars.endIndex, stem(cut(folded))) }
    }

    @inline(__always)
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return (v >= 0x30 && v <= 0x39) || (v | 0x20 >= 0x61 && v | 0x20 <= 0x7A) }
        // Cyrillic letters (the block's signs and marks, U+0482–U+0489, are not).
        if v >= 0x0400 && v <= 0x04FF { return v < 0x0482 || v > 0x0489 }
        let properties = scalar.properties
        return properties.isAlphabetic || properties.numericType != nil
    }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x300 && scalar.properties.generalCategory == .nonspacingMark
    }

    /// Appends the scalar lower-cased, as UTF-8.
    @inline(__always)
    private static func fold(_ scalar: Unicode.Scalar, into bytes: inout [UInt8]) {
        let v = scalar.value
        switch v {
        case 0x41...0x5A: bytes.append(UInt8(v + 0x20))
        case 0..<0x80: bytes.append(UInt8(v))
        case 0x0401, 0x0451: append(0x0435, to: &bytes)  // Ё, ё → е
        case 0x0410...0x042F: append(v + 0x20, to: &bytes)
        case 0x0400...0x040F: append(v + 0x50, to: &bytes)
        case 0x0430...0x045F: append(v, to: &bytes)  // Russian lower case, ѐ–џ
        // The rest of the block (Ukrainian Ґ, Kazakh Қ Ә Ү Ө …) mixes cases: the default asks.
        default:
            if scalar.properties.changesWhenLowercased {
                for lower in scalar.properties.lowercaseMapping.unicodeScalars { append(lower.value, to: &bytes) }
            } else {
                append(v, to: &bytes)
            }
        }
    }

    @inline(__always)
    private static func append(_ v: UInt32, to bytes: inout [UInt8]) {
        switch v {
        case 0..<0x80: bytes.append(UInt8(v))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Cut to `maxTermBytes` at a scalar boundary.
    private static func cut(_ term: [UInt8]) -> [UInt8] {
        guard term.count > maxTermBytes else { return term }
        var end = maxTermBytes
        while end > 0, term[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(term[..<end])
    }

    /// Letters (scalars) in UTF-8 bytes.
    @inline(__always)
    private static func letters(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }

    // MARK: The light stemmer

    /// Russian endings, longest first, so the first that fits is the longest: the cases and
    /// numbers of nouns and adjectives, and the infinitive. Verb endings that are also the
    /// ends of common nouns (-ат, -ет, -ал, -ила …: "возврат", "сигнала") are left out: cutting
    /// them split a noun's forms ("возврат" → "возвр", "возврата" → "возврат").
    private static let russianEndings: [(bytes: [UInt8], letters: Int)] = [
        "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "ией", "иям", "иях",
        "ать", "ять", "ить", "еть",
        "ов", "ев", "ей", "ой", "ий", "ый", "ая", "яя", "ое", "ее", "ые", "ие", "ую", "юю", "ом", "ем",
        "ам", "ям", "ах", "ях", "ию", "ия", "ии", "ть",
        "а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й",
    ].map { (Array($0.utf8), $0.unicodeScalars.count) }

    static func stem(_ word: [UInt8]) -> [UInt8] {
        guard let first = word.first else { return word }
        // Cyrillic letters are 0xD0–0xD3 lead bytes in UTF-8.
        if first >= 0xD0 && first <= 0xD3 { return stemRussian(word) }
        if first | 0x20 >= 0x61 && first | 0x20 <= 0x7A { return stemEnglish(word) }
        return word
    }

    private static func stemRussian(_ word: [UInt8]) -> [UInt8] {
        let count = letters(word[...])
        for ending in russianEndings where count - ending.letters >= 3 && word.count > ending.bytes.count {
            if word.suffix(ending.bytes.count).elementsEqual(ending.bytes) { return Array(word.dropLast(ending.bytes.count)) }
        }
        return word
    }

    private static func stemEnglish(_ word: [UInt8]) -> [UInt8] {
        func ends(_ suffix: StaticString) -> Bool {
            let n = suffix.utf8CodeUnitCount
            guard word.count >= n else { return false }
            return suffix.withUTF8Buffer { word.suffix(n).elementsEqual($0) }
        }
        let count = letters(word[...])
        var stem = word
        if count >= 5, ends("ies") {
            stem = Array(word.dropLast(3)) + [UInt8(ascii: "y")]
        } else if count >= 6, ends("ing") {
            stem = Array(word.dropLast(3))
        } else if count >= 5, ends("ed"), !ends("eed") {
            stem = Array(word.dropLast(2))
        } else if count >= 5, ends("ches") || ends("shes") || ends("sses") || ends("xes") || ends("zes") {
            stem = Array(word.dropLast(2))
        } else if count >= 4, ends("s"), !ends("ss"), !ends("us"), !ends("is") {
            stem = Array(word.dropLast(1))
        }
        // "charge", "charges", "charged", "charging": one stem without the silent e.
        if letters(stem[...]) >= 5, stem.last == UInt8(ascii: "e"), stem.dropLast().last != UInt8(ascii: "e") { stem.removeLast() }
        return stem
    }
}

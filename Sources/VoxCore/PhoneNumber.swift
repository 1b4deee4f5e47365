import Foundation

/// Phone numbers as digits, the form every index and search uses.
public enum PhoneNumber {
    /// Only the digits: `+7 (999) 123-45-67` → `79991234567`. Numbers are normalized once, at
    /// write time; searches normalize what a person typed the same way.
    public static func digits(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 48 && $0.value <= 57 }.map(Character.init))
    }

    /// What a typed search may mean, as digit strings to match: a Russian number typed with
    /// the domestic trunk prefix 8 (`8 999 123-45-67`) also matches its +7 form.
    public static func searchVariants(_ typed: String) -> [String] {
        let digits = digits(typed)
        guard !digits.isEmpty else { return [] }
        if digits.count == 11, digits.hasPrefix("8") { return [digits, "7" + digits.dropFirst()] }
        return [digits]
    }

    /// A number as a person reads it, in libphonenumber's INTERNATIONAL format, for every
    /// country: `79991234567` → `+7 999 123-45-67`, `442079460000` → `+44 20 7946 0000`,
    /// `12125550100` → `+1 212-555-0100`. The rules are libphonenumber's metadata
    /// (`PhoneFormats.generated.swift`, from scripts/gen-phone-formats), not typed by hand.
    ///
    /// The digits are read as E.164: calling code, then national number. A known calling code
    /// whose formats do not fit the number shows as `+CC` and the national digits, as
    /// libphonenumber does. What cannot be an E.164 number (fewer than 4 digits, an unknown
    /// calling code, a national number outside libphonenumber's 2–17 digits) shows as `+` and
    /// the digits (a short code or extension: its digits alone, unless written with `+`); text
    /// without digits is shown as it is.
    ///
    /// Unlike libphonenumber's parser, a trunk prefix typed after the calling code is not
    /// removed (`+44 (0)20 …` stays `+44 020…`): stored numbers come from the telephony side,
    /// which writes E.164.
    public static func display(_ raw: String) -> String {
        if let known = displayed.value(raw) { return known }
        let shown = format(raw)
        displayed.store(raw, shown)
        return shown
    }

    /// The same few numbers fill a page (an application's own number is on every row of its
    /// calls), and formatting one runs its country's patterns (Swift `Regex`, ~6 µs): the
    /// last few thousand are kept.
    private static let displayed = DisplayCache(limit: 4_096)

    private static func format(_ raw: String) -> String {
        let digits = digits(raw)
        guard !digits.isEmpty else { return raw }
        // Three digits or fewer is an extension or a short code (`+1 23` would read as
        // American): its digits, with a `+` only if it came with one ("101" is not "+101").
        guard digits.utf8.count >= 4 else { return raw.hasPrefix("+") ? "+" + digits : digits }
        guard let (code, national) = splitCallingCode(digits),
              (2...17).contains(national.utf8.count) else { return "+" + digits }
        return "+\(code) " + formatNational(national, callingCode: code)
    }

    /// The calling code and the national number. Like libphonenumber, the first 1-, 2- or
    /// 3-digit prefix that is a calling code wins; calling codes are prefix-free, so it is also
    /// the only one (scripts/gen-phone-formats checks that).
    static func splitCallingCode(_ digits: String) -> (code: Int, national: String)? {
        guard digits.first != "0" else { return nil }  // no code starts with 0; "01" is not +1
        for length in 1...3 where length < digits.utf8.count {
            guard let code = Int(digits.prefix(length)) else { return nil }
            if formatsByCallingCode[code] != nil { return (code, String(digits.dropFirst(length))) }
        }
        return nil
    }

    /// libphonenumber's chooseFormattingPatternForNumber and formatNsnUsingPattern: the first
    /// format whose leading digits match at the start and whose pattern matches the whole
    /// national number, applied; the national number as it is when none fits.
    static func formatNational(_ national: String, callingCode: Int) -> String {
        for format in CompiledFormats.shared.formats(callingCode: callingCode) {
            if let formatted = format.apply(national) { return formatted }
        }
        return national
    }
}

/// A `PhoneNumber.Format` with its patterns compiled.
///
/// Swift's `Regex` rather than NSRegularExpression: measured on Linux with pages of 50 numbers,
/// it was faster both warm (about 150 µs a page against 200 µs) and cold (the first page 4–6 ms
/// against 6–12 ms: NSRegularExpression compiles when made, and needs a second, end-anchored
/// copy of each pattern for the whole-number test that `wholeMatch` gives for free).
///
/// `Regex` is not marked Sendable, but sharing one between threads is safe: it is immutable
/// once made, except for the program it compiles on first use, which it stores atomically
/// (_StringProcessing's `Regex.Program.loweredProgram`).
struct CompiledPhoneFormat: @unchecked Sendable {
    /// Matched at the start only; nil matches every number.
    let leading: Regex<AnyRegexOutput>?
    let pattern: Regex<AnyRegexOutput>
    /// The template split once: text to copy, and the groups (`$1` → 1) to put in between.
    let template: [Piece]

    enum Piece: Sendable {
        case text(String)
        case group(Int)
    }

    init?(_ format: PhoneNumber.Format) {
        do {
            leading = format.leading.isEmpty ? nil : try Regex(format.leading)
            pattern = try Regex(format.pattern)
        } catch {
            return nil
        }
        var pieces: [Piece] = []
        var text = ""
        var rest = Substring(format.template)
        while let first = rest.first {
            rest = rest.dropFirst()
            if first == "$", let group = rest.first?.wholeNumberValue {
                if !text.isEmpty { pieces.append(.text(text)) }
                text = ""
                pieces.append(.group(group))
                rest = rest.dropFirst()
            } else {
                text.append(first)
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        template = pieces
    }

    /// The formatted national number, or nil when this format is not for it.
    func apply(_ national: String) -> String? {
        if let leading, national.prefixMatch(of: leading) == nil { return nil }
        // libphonenumber requires the pattern to match the whole number, then replaces every
        // match of it (Java's replaceAll, Python's re.sub). When the first match from the start
        // already spans the whole number, that is one replacement of it, and it is the same
        // match `wholeMatch` would find: the usual case, so it is tried first, with one match.
        if let match = national.prefixMatch(of: pattern), match.range.upperBound == national.endIndex {
            return expand(match)
        }
        guard national.wholeMatch(of: pattern) != nil else { return nil }
        return national.replacing(pattern) { expand($0) }
    }

    private func expand(_ match: Regex<AnyRegexOutput>.Match) -> String {
        var out = ""
        for piece in template {
            switch piece {
            case let .text(text): out += text
            // A group that took no part, or that the pattern lacks, adds nothing (as in
            // Python's re.sub) rather than trapping on the index.
            case let .group(group): if group < match.output.count, let sub = match.output[group].substring { out += sub }
            }
        }
        return out
    }
}

/// The compiled formats of each calling code, compiled the first time a number of that code is
/// shown and kept for the life of the process: a page shows up to 50 numbers per request, and
/// compiling costs far more than matching. Compiling all ~700 patterns up front would cost
/// about 20 ms at the first page, for codes that are mostly never seen.
final class CompiledFormats: @unchecked Sendable {  // `byCode` is only touched under `lock`
    static let shared = CompiledFormats()
    private let lock = NSLock()
    private var byCode: [Int: [CompiledPhoneFormat]] = [:]

    func formats(callingCode: Int) -> [CompiledPhoneFormat] {
        lock.lock()
        defer { lock.unlock() }
        if let compiled = byCode[callingCode] { return compiled }
        // A pattern that does not compile (every one does; PhoneFormatTests checks) would be
        // skipped, its numbers falling through to the next format or to the plain digits.
        let compiled = (PhoneNumber.formatsByCallingCode[callingCode] ?? []).compactMap(CompiledPhoneFormat.init)
        byCode[callingCode] = compiled
        return compiled
    }
}

/// Raw number to its display, bounded: when full it starts again empty (cheaper than an LRU
/// and as good for pages that show a few hundred numbers at most).
final class DisplayCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: String] = [:]
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func value(_ raw: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return entries[raw]
    }

    func store(_ raw: String, _ shown: String) {
        guard raw.utf8.count <= 64 else { return }  // numbers are short; a long text is not kept
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
        entries[raw] = shown
    }
}

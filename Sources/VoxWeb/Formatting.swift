import Foundation
import VoxCore
import VoxServices

/// Numbers, times and money as people read them.
struct Formatting {
    let timeZone: TimeZone
    /// The viewer's language: month names, the decimal separator, plural forms.
    let catalog: Catalog

    init(timeZone: TimeZone, catalog: Catalog = .english) {
        self.timeZone = timeZone
        self.catalog = catalog
    }

    init(user: User, catalog: Catalog = .english) {
        self.init(timeZone: TimeZone(identifier: user.timeZone) ?? .gmt, catalog: catalog)
    }

    init(_ context: RequestContext) throws {
        self.init(user: try context.requireUser(), catalog: context.catalog)
    }

    /// Money in the viewer's language: `1 234.50 ₽` in English, `1 234,50 ₽` in Russian.
    func money(_ money: Money?) -> String {
        guard let money else { return "—" }
        return amount(micros: money.micros, currency: money.currency)
    }

    func amount(micros: Int64, currency: String) -> String {
        Formatting.amount(micros: micros, currency: currency, decimalComma: catalog.language == .ru)
    }

    func percent(_ part: Int64, of whole: Int64) -> String {
        Formatting.percent(part, of: whole, decimalComma: catalog.language == .ru)
    }

    /// "{n} calls" in the right plural form.
    func count(_ key: String, _ value: Int64) -> String { catalog.plural(key, value, formatted: Formatting.count(value)) }

    /// "3 Dec 2026, 14:05:09" / "3 дек. 2026, 14:05:09" in the viewer's zone: what
    /// DateFormatter writes for `d MMM yyyy, HH:mm:ss` (NumberFormattingTests compares them).
    func dateTime(_ date: Date) -> String {
        let time = CivilTime(date, in: timeZone)
        let month = CivilTime.monthNames[catalog.language]?[Int(time.month) - 1] ?? String(time.month)
        return String(time.day) + " " + month + " " + CivilTime.digits(time.year, 4) + ", " + time.clockText
    }

    /// "2 Dec, 23:01": for tables that name many times of recent days.
    func shortDateTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = catalog.language.locale
        formatter.timeZone = timeZone
        formatter.setLocalizedDateFormatFromTemplate("dMMMHHmm")
        return formatter.string(from: date)
    }

    /// `yyyy-MM-dd` in the viewer's zone: for date inputs and CSV.
    func day(_ date: Date) -> String { CivilTime(date, in: timeZone).dayText }

    /// `yyyy-MM-dd` days as a chart names them: "2 Dec" / "2 дек." under the axis, "2 Dec 2026"
    /// in a tooltip. Each is a calendar day already, so it is read and written in GMT. The
    /// same days come back on every Statistics page, and three DateFormatter calls a day were
    /// a sixth of a 90-day page: labels made once are kept.
    func chartLabels(days: [String]) -> [Charts.Label] {
        let language = catalog.language
        var labels = Formatting.labelCache.labels(days, language)
        let missing = labels.indices.filter { labels[$0] == nil }
        guard !missing.isEmpty else { return labels.map { $0! } }
        let reader = DateFormatter(), axis = DateFormatter(), full = DateFormatter()
        reader.locale = Locale(identifier: "en_US_POSIX")
        reader.dateFormat = "yyyy-MM-dd"
        for formatter in [reader, axis, full] { formatter.timeZone = .gmt }
        for formatter in [axis, full] { formatter.locale = language.locale }
        axis.setLocalizedDateFormatFromTemplate("dMMM")
        full.setLocalizedDateFormatFromTemplate("dMMMyyyy")
        for index in missing {
            let day = days[index]
            guard let date = reader.date(from: day) else {
                labels[index] = Charts.Label(axis: day, full: day)
                continue
            }
            let label = Charts.Label(axis: axis.string(from: date), full: full.string(from: date))
            labels[index] = label
            Formatting.labelCache.store(day, language, label)
        }
        return labels.map { $0! }
    }

    private static let labelCache = LabelCache()

    /// Chart labels by language and day; a few years of days at most (then it starts again).
    final class LabelCache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [Language: [String: Charts.Label]] = [:]

        func labels(_ days: [String], _ language: Language) -> [Charts.Label?] {
            lock.lock()
            defer { lock.unlock() }
            let known = entries[language] ?? [:]
            return days.map { known[$0] }
        }

        func store(_ day: String, _ language: Language, _ label: Charts.Label) {
            lock.lock()
            defer { lock.unlock() }
            if entries[language, default: [:]].count >= 2_000 { entries[language] = [:] }
            entries[language, default: [:]][day] = label
        }
    }

    /// 1.2 MB, 870 KB: sizes as people read them (decimal units, like file managers).
    static func bytes(_ count: Int64) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) bytes" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    /// `yyyy-MM-dd_HHmm` in the viewer's zone: for file names.
    func fileStamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.hour, .minute], from: date)
        return day(date) + String(format: "_%02d%02d", c.hour ?? 0, c.minute ?? 0)
    }

    /// The instant a `yyyy-MM-dd` day starts in the viewer's zone.
    /// The start of the day `YYYY-MM-DD` in the viewer's zone, for days within the times a
    /// call can have (`Time.accepted`); anything else is nil, which pages show as "not a date".
    func startOfDay(_ text: String) -> Date? {
        let b = Array(text.utf8)
        let isDigit = { (i: Int) in b[i] >= 0x30 && b[i] <= 0x39 }
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D, [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy(isDigit) else { return nil }
        let number = { (range: Range<Int>) in range.reduce(Int64(0)) { $0 * 10 + Int64(b[$1] - 0x30) } }
        let year = number(0..<4), month = number(5..<7), day = number(8..<10)
        guard (1...12).contains(month), (1...CivilTime.daysIn(month: month, year: year)).contains(day) else { return nil }
        // Noon of that date in the zone is inside the day whatever the zone's offset changes
        // do at its ends; its calendar day starts where the day does.
        let noonUTC = Double(CivilTime.days(year: year, month: month, day: day)) * 86_400 + 43_200
        let noon = Date(timeIntervalSince1970: noonUTC - Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: noonUTC))))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.startOfDay(for: noon)
        return Time.accepted.contains(start) ? start : nil
    }

    func addingDays(_ days: Int, to date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(byAdding: .day, value: days, to: date)!
    }

    /// `m:ss`, or `h:mm:ss` past an hour.
    static func duration(_ seconds: Int) -> String {
        let s = max(0, seconds)
        func two(_ v: Int) -> String { v < 10 ? "0" + String(v) : String(v) }
        if s >= 3600 { return String(s / 3600) + ":" + two(s % 3600 / 60) + ":" + two(s % 60) }
        return String(s / 60) + ":" + two(s % 60)
    }

    /// Two decimals, or four under one unit (call prices are often fractions of a cent); a
    /// decimal comma for Russian (the grouping is a narrow space in both languages).
    static func amount(micros: Int64, currency: String, decimalComma: Bool = false) -> String {
        let digits = micros.magnitude < 1_000_000 && micros != 0 ? 4 : 2
        let number = grouped(micros: micros, fractionDigits: digits, decimalComma: decimalComma)
        switch currency {
        case "RUB": return number + " ₽"
        case "USD": return "$" + number
        case "EUR": return "€" + number
        case "GBP": return "£" + number
        default: return number + " " + currency
        }
    }

    /// 1 234 567 with narrow no-break spaces, as both English and Russian readers accept.
    static func count(_ value: Int64) -> String { grouped(micros: value, fractionDigits: 0, scale: 1) }

    /// `value / scale` (micros by default) with `fractionDigits` decimals, rounded half to
    /// even (as NumberFormatter did), its thousands apart. In integers: exact for every
    /// amount, where a Double is not past 2^53 micros, and without a formatter per number
    /// (NumberFormatter was a quarter of Call History's time and half of Statistics').
    static func grouped(micros value: Int64, fractionDigits: Int, scale: UInt64 = 1_000_000, decimalComma: Bool = false) -> String {
        precondition((0...6).contains(fractionDigits))
        var unit: UInt64 = 1
        for _ in 0..<fractionDigits { unit *= 10 }
        precondition(scale % unit == 0, "more decimals than the scale has")
        // The value in units of the last decimal shown: scale / unit per step, rounded.
        let magnitude = value.magnitude
        let step = max(1, scale / unit)
        var steps = magnitude / step
        let rest = magnitude % step
        if rest * 2 > step || (rest * 2 == step && steps % 2 == 1) { steps += 1 }
        let whole = steps / unit, fraction = steps % unit
        var digits = Array(String(whole).utf8)
        var out = [UInt8]()
        out.reserveCapacity(digits.count * 2 + 8)
        if value < 0 && steps > 0 { out.append(0x2D) }
        let lead = digits.count % 3 == 0 ? 3 : digits.count % 3
        for (index, digit) in digits.enumerated() {
            if index > 0 && (index - lead) % 3 == 0 { out.append(contentsOf: [0xE2, 0x80, 0xAF]) }  // U+202F
            out.append(digit)
        }
        if fractionDigits > 0 {
            out.append(decimalComma ? 0x2C : 0x2E)
            digits = Array(String(fraction).utf8)
            out.append(contentsOf: [UInt8](repeating: 0x30, count: fractionDigits - digits.count))
            out.append(contentsOf: digits)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percent(_ part: Int64, of whole: Int64, decimalComma: Bool = false) -> String {
        guard whole > 0 else { return "—" }
        return oneDecimal(Double(part) * 100 / Double(whole), decimalComma: decimalComma) + "%"
    }

    /// A chart's axis value as a whole number for formatting: what does not fit (no real
    /// axis gets there) is the largest there is, never a trap.
    static func clamped(_ value: Double) -> Int64 {
        guard value.isFinite else { return 0 }
        return Int64(exactly: value.rounded(.towardZero)) ?? (value < 0 ? .min : .max)
    }

    /// `12.3`: a Double with one decimal, as `String(format: "%.1f")` writes it (bar a tie's
    /// rounding) at a fraction of the cost; charts write thousands of these.
    static func oneDecimal(_ value: Double, decimalComma: Bool = false) -> String {
        guard value.isFinite, value.magnitude < 1e15 else { return String(format: "%.1f", value) }
        let tenths = Int64((value * 10).rounded())
        let magnitude = tenths.magnitude
        return (tenths < 0 ? "-" : "") + String(magnitude / 10) + (decimalComma ? "," : ".") + String(magnitude % 10)
    }

    /// `2026-11-25T14:05:00Z`, as `ISO8601DateFormatter` writes it by default, without one:
    /// the CSV export writes a million of these, and the formatter was most of its time.
    /// The civil date comes from `CivilTime`.
    static func isoUTC(micros: UInt64) -> String {
        var out = [UInt8]()
        out.reserveCapacity(20)
        appendISOUTC(micros: micros, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendISOUTC(micros: UInt64, to out: inout [UInt8]) {
        let time = CivilTime(seconds: Int64(micros / 1_000_000))
        func two(_ v: Int64) { out.append(UInt8(48 + v / 10)); out.append(UInt8(48 + v % 10)) }
        two(time.year / 100); two(time.year % 100); out.append(0x2D); two(time.month); out.append(0x2D); two(time.day)
        out.append(0x54); two(time.hour); out.append(0x3A); two(time.minute); out.append(0x3A); two(time.second)
        out.append(0x5A)
    }

    /// `-12.500000`: micros as a decimal with six places, as `String(format: "%.6f")` writes
    /// the same amount, without the C formatter and without going through a Double.
    static func decimal(micros: Int64) -> String {
        var out = [UInt8]()
        appendDecimal(micros: micros, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDecimal(micros: Int64, to out: inout [UInt8]) {
        let magnitude = micros.magnitude
        if micros < 0 { out.append(0x2D) }
        out.append(contentsOf: String(magnitude / 1_000_000).utf8)
        out.append(0x2E)
        let fraction = String(magnitude % 1_000_000).utf8
        for _ in fraction.count..<6 { out.append(0x30) }
        out.append(contentsOf: fraction)
    }
}

extension CivilTime {
    /// Month abbreviations as the language's dates write them ("Dec", "дек."): asked of
    /// Foundation once, then used for every date.
    static let monthNames: [Language: [String]] = Dictionary(uniqueKeysWithValues: Language.allCases.map { language in
        let formatter = DateFormatter()
        formatter.locale = language.locale
        formatter.timeZone = .gmt
        formatter.dateFormat = "MMM"
        return (language, (1...12).map { month in
            formatter.string(from: Date(timeIntervalSince1970: Double(days(year: 2001, month: Int64(month), day: 15)) * 86_400))
        })
    })
}

import Foundation
import VoxCore
import VoxServices

/// Numbers, times and money as people read them.
struct Formatting {
    let timeZone: TimeZone
    /// The viewer's language: month names, the decimal separator, plural forms.
    let catalog: Catalog
    private let dateTime: DateFormatter
    private let dayFormatter: DateFormatter

    init(timeZone: TimeZone, catalog: Catalog = .english) {
        self.timeZone = timeZone
        self.catalog = catalog
        dateTime = DateFormatter()
        dateTime.locale = catalog.language.locale
        dateTime.timeZone = timeZone
        dateTime.dateFormat = "d MMM yyyy, HH:mm:ss"
        dayFormatter = DateFormatter()
        dayFormatter.locale = Locale(identifier: "en_US_POSIX")
        dayFormatter.timeZone = timeZone
        dayFormatter.dateFormat = "yyyy-MM-dd"
    }

    init(user: User, catalog: Catalog = .english) {
        self.init(timeZone: TimeZone(identifier: user.timeZone) ?? .gmt, catalog: catalog)
    }

    init(_ context: RequestContext) throws {
        self.init(user: try context.requireUser(), catalog: context.catalog)
    }

    /// Money in the viewer's language: `1 234.50 ₽` in English, `1 234,50 ₽` in Russian.
    func money(_ money: Money?) -> String { localized(Formatting.money(money)) }

    func amount(micros: Int64, currency: String) -> String { localized(Formatting.amount(micros: micros, currency: currency)) }

    func percent(_ part: Int64, of whole: Int64) -> String { localized(Formatting.percent(part, of: whole)) }

    /// "{n} calls" in the right plural form.
    func count(_ key: String, _ value: Int64) -> String { catalog.plural(key, value, formatted: Formatting.count(value)) }

    /// The English decimal point becomes Russian's comma (the grouping is a thin space in both).
    private func localized(_ text: String) -> String {
        catalog.language == .ru ? text.replacingOccurrences(of: ".", with: ",") : text
    }

    func dateTime(_ date: Date) -> String { dateTime.string(from: date) }

    /// "2 Dec, 23:01": for tables that name many times of recent days.
    func shortDateTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = catalog.language.locale
        formatter.timeZone = timeZone
        formatter.setLocalizedDateFormatFromTemplate("dMMMHHmm")
        return formatter.string(from: date)
    }

    /// `yyyy-MM-dd` in the viewer's zone: for date inputs and CSV.
    func day(_ date: Date) -> String { dayFormatter.string(from: date) }

    /// `yyyy-MM-dd` days as a chart names them: "2 Dec" / "2 дек." under the axis, "2 Dec 2026"
    /// in a tooltip. Each is a calendar day already, so it is read and written in GMT.
    func chartLabels(days: [String]) -> [Charts.Label] {
        let reader = DateFormatter(), axis = DateFormatter(), full = DateFormatter()
        reader.locale = Locale(identifier: "en_US_POSIX")
        reader.dateFormat = "yyyy-MM-dd"
        for formatter in [reader, axis, full] { formatter.timeZone = .gmt }
        for formatter in [axis, full] { formatter.locale = catalog.language.locale }
        axis.setLocalizedDateFormatFromTemplate("dMMM")
        full.setLocalizedDateFormatFromTemplate("dMMMyyyy")
        return days.map { day in
            guard let date = reader.date(from: day) else { return Charts.Label(axis: day, full: day) }
            return Charts.Label(axis: axis.string(from: date), full: full.string(from: date))
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
        guard text.utf8.count == 10, let date = dayFormatter.date(from: text) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let day = calendar.startOfDay(for: date)
        return Time.accepted.contains(day) ? day : nil
    }

    func addingDays(_ days: Int, to date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(byAdding: .day, value: days, to: date)!
    }

    /// `m:ss`, or `h:mm:ss` past an hour.
    static func duration(_ seconds: Int) -> String {
        let s = max(0, seconds)
        if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, s % 3600 / 60, s % 60) }
        return String(format: "%d:%02d", s / 60, s % 60)
    }

    static func money(_ money: Money?) -> String {
        guard let money else { return "—" }
        return amount(micros: money.micros, currency: money.currency)
    }

    static func amount(micros: Int64, currency: String) -> String {
        let value = Double(micros) / 1_000_000
        let symbol = ["RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£"][currency]
        let digits = abs(value) < 1 && value != 0 ? 4 : 2
        let number = grouped(value, fractionDigits: digits)
        if let symbol { return currency == "RUB" ? "\(number) \(symbol)" : "\(symbol)\(number)" }
        return "\(number) \(currency)"
    }

    /// 1 234 567 with thin spaces, as both English and Russian readers accept.
    static func count(_ value: Int64) -> String { grouped(Double(value), fractionDigits: 0) }

    static func grouped(_ value: Double, fractionDigits: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.groupingSeparator = "\u{202F}"
        formatter.usesGroupingSeparator = true
        formatter.minimumFractionDigits = fractionDigits
        formatter.maximumFractionDigits = fractionDigits
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }

    static func percent(_ part: Int64, of whole: Int64) -> String {
        guard whole > 0 else { return "—" }
        return String(format: "%.1f%%", Double(part) * 100 / Double(whole))
    }

    /// `2026-11-25T14:05:00Z`, as `ISO8601DateFormatter` writes it by default, without one:
    /// the CSV export writes a million of these, and the formatter was most of its time.
    /// Days to a civil date by Howard Hinnant's `civil_from_days` (proleptic Gregorian).
    static func isoUTC(micros: UInt64) -> String {
        let seconds = Int64(micros / 1_000_000)
        let days = seconds / 86_400, rest = seconds % 86_400
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var out = [UInt8]()
        out.reserveCapacity(20)
        func two(_ v: Int64) { out.append(UInt8(48 + v / 10)); out.append(UInt8(48 + v % 10)) }
        two(year / 100); two(year % 100); out.append(0x2D); two(month); out.append(0x2D); two(day)
        out.append(0x54); two(rest / 3_600); out.append(0x3A); two(rest / 60 % 60); out.append(0x3A); two(rest % 60)
        out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    /// `-12.500000`: micros as a decimal with six places, as `String(format: "%.6f")` writes
    /// the same amount, without the C formatter and without going through a Double.
    static func decimal(micros: Int64) -> String {
        let negative = micros < 0
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1_000_000)
        return (negative ? "-" : "") + String(magnitude / 1_000_000) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}

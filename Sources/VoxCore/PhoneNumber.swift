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

    /// `79991234567` → `+7 999 123-45-67`; other numbers are shown as `+` and their digits.
    public static func display(_ raw: String) -> String {
        let d = Array(digits(raw))
        guard !d.isEmpty else { return raw }
        if d.count == 11 && d[0] == "7" {
            return "+7 \(String(d[1...3])) \(String(d[4...6]))-\(String(d[7...8]))-\(String(d[9...10]))"
        }
        if d.count == 11 && d[0] == "1" {
            return "+1 \(String(d[1...3])) \(String(d[4...6])) \(String(d[7...10]))"
        }
        return "+" + String(d)
    }
}

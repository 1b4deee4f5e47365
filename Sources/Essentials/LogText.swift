/// Text a client chose (an email, a path, an event type), made safe for one log line.
public enum LogText {
    /// Control characters (CR, LF, ESC…) and backslashes become `\u{…}` escapes, so nobody can
    /// forge a log line or send terminal escapes to whoever reads the log; long text is cut.
    public static func escape(_ text: some StringProtocol, limit: Int = 256) -> String {
        // The common case, on every request's log line: short printable ASCII, as it is.
        if text.utf8.count <= limit && text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) {
            return String(text)
        }
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) || scalar == "\\"
                || (0x2028...0x2029).contains(scalar.value) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if text.unicodeScalars.count > limit { out += "…" }
        return out
    }
}

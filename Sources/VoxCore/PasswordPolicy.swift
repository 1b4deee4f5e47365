import Foundation

/// What a password chosen in the panel must be: at least 12 characters, not one of the
/// common passwords below (compared without case, and with the digits and symbols people add
/// at the end taken off), and not the email address or its name part.
///
/// The list is the long end of the well-known leaked-password rankings (entries of 12 or more
/// characters, or whose stem is a famous short password); shorter ones already fail the length.
public enum PasswordPolicy {
    public static let minimumLength = 12

    /// Why a password is refused; the page says it in the user's language.
    public enum Problem: String, Sendable, Equatable, CustomStringConvertible {
        case tooShort, tooLong, containsEmail, tooFewCharacters, common

        public var description: String {
            switch self {
            case .tooShort: "use at least \(PasswordPolicy.minimumLength) characters"
            case .tooLong: "use at most 1024 characters"
            case .containsEmail: "do not use your email address in it"
            case .tooFewCharacters: "use more than three different characters"
            case .common: "that is one of the most common passwords"
            }
        }
    }

    public static func problem(with password: String, email: String) -> Problem? {
        guard password.count >= minimumLength else { return .tooShort }
        guard password.count <= 1024 else { return .tooLong }
        let lower = password.lowercased()
        let email = email.lowercased()
        let name = String(email.prefix { $0 != "@" })
        if lower == email || lower.contains(email) || (name.count >= 4 && lower.contains(name)) { return .containsEmail }
        if Set(lower).count <= 3 { return .tooFewCharacters }
        let stem = String(lower.reversed().drop { !$0.isLetter }.reversed())
        if common.contains(lower) || common.contains(stem) { return .common }
        return nil
    }

    /// Whole passwords and stems (what is left when trailing digits and symbols go).
    static let common: Set<String> = Set("""
    123456789012 1234567890123 12345678901234 123456789123 1234512345 1q2w3e4r5t6y 1qaz2wsx3edc 1qazxsw23edc
    qwertyuiop12 qwertyuiop123 qwerty123456 qwertyqwerty qwertyuiopasdfgh qazwsxedcrfv zaq12wsxcde3 asdfghjkl123
    abcdefghijkl abc123abc123 aaaaaaaaaaaa password password1 passw0rd passwordpassword mypassword letmein
    iloveyou iloveyouforever welcome welcometo admin administrator changeme changemeplease trustno1 monkey dragon
    football baseball basketball superman batman princess sunshine starwars whatever master shadow michael
    jennifer jordan computer internet samsung liverpool chelsea arsenal pokemon minecraft fortnite killer
    qwerty qwertyui asdfgh zxcvbnm zxcvbnmasdfgh secret secretpassword default guest login access letmeinplease
    hello helloworld freedom flower summer winter autumn spring january december charlie thomas hunter ranger
    buster soccer hockey harley tigger ginger pepper daniel andrew joshua matthew robert jessica ashley
    nicole chocolate butterfly purple orange banana cookie cheese pizza coffee family forever lovely
    angel angels beautiful blessed jesus christ heaven friends password123 pass1234 voximplant elevenlabs
    voxfcgi supersecret topsecret nopassword mustchange temporary temppassword newpassword oldpassword
    """.split(whereSeparator: \.isWhitespace).map(String.init))
}

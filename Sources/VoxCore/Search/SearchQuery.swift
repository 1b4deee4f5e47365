/// What a person typed in the search box, parsed: every clause must match (AND).
///
/// - `refund card` — both words, anywhere in the transcript or its summary;
/// - `"money back"` — the words next to each other, in that order;
/// - `возвр*` — any word beginning so (at least two letters before the `*`).
///
/// It comes from outside: bounded in length and in clauses, and a query that leaves nothing
/// to search for is an error with a message, not an empty page.
public struct SearchQuery: Sendable, Equatable {
    public enum Clause: Sendable, Equatable {
        case term(String)
        case prefix(String)
        case phrase([String])
    }

    public enum Problem: Error, Equatable, Sendable {
        case tooLong
        case tooManyClauses
        case nothingToSearch
        case shortPrefix
    }

    public static let maxLength = 200
    public static let maxClauses = 8
    public static let maxWords = 12
    public static let minPrefixCharacters = 2

    public let clauses: [Clause]
    /// As typed, for the search box.
    public let text: String

    public init(_ typed: String) throws {
        guard typed.count <= Self.maxLength else { throw Problem.tooLong }
        var clauses: [Clause] = []
        var rest = Substring(typed)
        while let quote = rest.firstIndex(of: "\"") {
            try Self.addWords(rest[..<quote], to: &clauses)
            let after = rest.index(after: quote)
            let close = rest[after...].firstIndex(of: "\"") ?? rest.endIndex
            let terms = SearchText.terms(in: String(rest[after..<close]))
            switch terms.count {
            case 0: break
            case 1: clauses.append(.term(terms[0]))
            default: clauses.append(.phrase(terms))
            }
            rest = close < rest.endIndex ? rest[rest.index(after: close)...] : ""
        }
        try Self.addWords(rest, to: &clauses)
        // The same clause twice says nothing more.
        var unique: [Clause] = []
        for clause in clauses where !unique.contains(clause) { unique.append(clause) }
        guard !unique.isEmpty else { throw Problem.nothingToSearch }
        // Words in all, phrases' words counted each: a phrase of a hundred words is as much work.
        let words = unique.reduce(0) { sum, clause in
            if case let .phrase(terms) = clause { return sum + terms.count }
            return sum + 1
        }
        guard unique.count <= Self.maxClauses, words <= Self.maxWords else { throw Problem.tooManyClauses }
        self.clauses = unique
        self.text = typed
    }

    private static func addWords(_ text: Substring, to clauses: inout [Clause]) throws {
        for piece in text.split(whereSeparator: { $0.isWhitespace }) {
            if piece.hasSuffix("*") {
                let prefix = SearchText.prefix(String(piece.dropLast()))
                guard prefix.count >= minPrefixCharacters else {
                    if SearchText.prefix(String(piece)).isEmpty { continue }
                    throw Problem.shortPrefix
                }
                clauses.append(.prefix(prefix))
            } else {
                // "e-mail" or "24/7" is several words to the tokenizer: all of them, in order.
                let terms = SearchText.terms(in: String(piece))
                switch terms.count {
                case 0: continue
                case 1: clauses.append(.term(terms[0]))
                default: clauses.append(.phrase(terms))
                }
            }
        }
    }

    /// Whether a word's term satisfies a single-word part of the query (for highlighting).
    public func highlights(_ term: String) -> Bool {
        clauses.contains { clause in
            switch clause {
            case let .term(t): t == term
            case let .prefix(p): term.hasPrefix(p) || term == SearchText.stemmed(p)
            case let .phrase(terms): terms.contains(term)
            }
        }
    }
}

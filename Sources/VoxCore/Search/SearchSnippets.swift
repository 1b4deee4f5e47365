/// The lines of a transcript that a search matched, cut into plain and matched pieces: the
/// page escapes every piece and marks the matched ones, so no transcript text is ever HTML.
public struct MatchedLine: Sendable, Equatable {
    public struct Piece: Sendable, Equatable {
        public var text: String
        public var matched: Bool
    }

    /// Index in `Transcript.turns`; nil for the summary.
    public var turn: Int?
    public var secondsIntoCall: Int?
    public var role: String?
    public var pieces: [Piece]
}

extension SearchQuery {
    /// Up to `limit` lines with a matched word, in transcript order (the summary last).
    public func matchedLines(in transcript: Transcript, limit: Int = 2, maxCharacters: Int = 240) -> [MatchedLine] {
        var lines: [MatchedLine] = []
        let texts: [(Int?, Transcript.Turn?, String)] = transcript.turns.enumerated().map { ($0, $1, $1.text) }
            + [(nil, nil, transcript.summary ?? "")]
        for (index, turn, text) in texts where lines.count < limit {
            // A few marks a line are enough, and a hostile giant turn is not read to its end.
            let hits = SearchText.hits(in: text, limit: 8, highlights)
            guard !hits.isEmpty else { continue }
            lines.append(MatchedLine(turn: index, secondsIntoCall: turn?.secondsIntoCall, role: turn?.role,
                                     pieces: Self.pieces(text, hits: hits, maxCharacters: maxCharacters)))
        }
        return lines
    }

    /// The text around the first hit, at most `maxCharacters`, with "…" where it was cut.
    static func pieces(_ text: String, hits: [Range<String.Index>], maxCharacters: Int) -> [MatchedLine.Piece] {
        var start = text.startIndex
        if let first = hits.first, text.distance(from: text.startIndex, to: first.lowerBound) > maxCharacters / 3 {
            start = text.index(first.lowerBound, offsetBy: -(maxCharacters / 3))
            // From a word's beginning, not the middle of one.
            while start > text.startIndex, !text[text.index(before: start)].isWhitespace { start = text.index(before: start) }
        }
        let end = text.index(start, offsetBy: maxCharacters, limitedBy: text.endIndex) ?? text.endIndex
        var pieces: [MatchedLine.Piece] = start > text.startIndex ? [.init(text: "…", matched: false)] : []
        var at = start
        for hit in hits where hit.lowerBound >= start && hit.upperBound <= end {
            if at < hit.lowerBound { pieces.append(.init(text: String(text[at..<hit.lowerBound]), matched: false)) }
            pieces.append(.init(text: String(text[hit]), matched: true))
            at = hit.upperBound
        }
        if at < end { pieces.append(.init(text: String(text[at..<end]), matched: false)) }
        if end < text.endIndex { pieces.append(.init(text: "…", matched: false)) }
        return pieces
    }
}

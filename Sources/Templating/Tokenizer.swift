/// One piece of a template's source: text, or a tag with its name (or comment) trimmed.
struct Token {
    enum Kind: Equatable { case text, variable, raw, section, inverted, close, comment }
    let kind: Kind
    var content: String
    /// 1-based, where the token starts: for error messages.
    let line: Int
}

/// Splits a template into text and tags, and leaves out the standalone lines.
enum Tokenizer {
    /// Text and tags alternating, starting and ending with text (perhaps empty): a tag's
    /// neighbours are always at its index ± 1.
    static func tokens(of source: String) throws -> [Token] {
        let bytes = Array(source.utf8)
        var tokens: [Token] = []
        var line = 1, textStart = 0, textLine = 1, i = 0
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        func find(_ pattern: [UInt8], from start: Int) -> Int? {
            var j = start
            while j + pattern.count <= bytes.count {
                if bytes[j] == pattern[0] && bytes[j..<j + pattern.count].elementsEqual(pattern) { return j }
                j += 1
            }
            return nil
        }
        let open: [UInt8] = [0x7B, 0x7B], close: [UInt8] = [0x7D, 0x7D], closeRaw: [UInt8] = [0x7D, 0x7D, 0x7D]
        while let start = find(open, from: i) {
            for byte in bytes[i..<start] where byte == 0x0A { line += 1 }
            tokens.append(Token(kind: .text, content: text(textStart..<start), line: textLine))
            let tagLine = line
            var nameStart = start + 2
            let kind: Token.Kind
            var terminator = close
            switch nameStart < bytes.count ? bytes[nameStart] : 0 {
            case 0x7B: kind = .raw; terminator = closeRaw; nameStart += 1   // {{{name}}}
            case 0x26: kind = .raw; nameStart += 1                           // {{&name}}
            case 0x23: kind = .section; nameStart += 1                       // {{#name}}
            case 0x5E: kind = .inverted; nameStart += 1                      // {{^name}}
            case 0x2F: kind = .close; nameStart += 1                         // {{/name}}
            case 0x21: kind = .comment; nameStart += 1                       // {{! … }}
            case 0x3E, 0x3D, 0x24, 0x3C:                                     // > = $ <
                throw Template.ParseError(line: tagLine, reason: "partials, blocks and set delimiters are not supported")
            default: kind = .variable
            }
            guard let end = find(terminator, from: nameStart) else {
                throw Template.ParseError(line: tagLine, reason: "a tag is never closed")
            }
            for byte in bytes[start..<end] where byte == 0x0A { line += 1 }
            var name = text(nameStart..<end)
            if kind != .comment {
                name = String(name.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
                if name.isEmpty { throw Template.ParseError(line: tagLine, reason: "a tag without a name") }
            }
            tokens.append(Token(kind: kind, content: name, line: tagLine))
            i = end + terminator.count
            textStart = i
            textLine = line
        }
        tokens.append(Token(kind: .text, content: text(textStart..<bytes.count), line: textLine))
        return tokens
    }

    /// The Mustache spec's standalone rule: a line holding nothing but white space and one
    /// section, inverted, closing or comment tag is left out, its line break included, so
    /// that templates can put their tags on lines of their own. Decided on the original text
    /// for every tag first, then cut: two such lines in a row share the text between them.
    static func stripStandaloneLines(_ tokens: inout [Token]) {
        let standalone: Set<Token.Kind> = [.section, .inverted, .close, .comment]
        var dropPrefix = [Int](repeating: 0, count: tokens.count)
        var dropSuffix = [Int](repeating: 0, count: tokens.count)
        let blank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        for index in stride(from: 1, to: tokens.count, by: 2) where standalone.contains(tokens[index].kind) {
            let before = Array(tokens[index - 1].content.utf8), after = Array(tokens[index + 1].content.utf8)
            // Before the tag on its line: white space only, back to a line break or the start.
            let lineStart = (before.lastIndex(of: 0x0A).map { $0 + 1 }) ?? (index == 1 ? 0 : -1)
            guard lineStart >= 0, before[lineStart...].allSatisfy(blank) else { continue }
            // After it: white space only, up to a line break (taken too) or the end.
            let cut: Int
            if let newline = after.firstIndex(of: 0x0A) {
                var end = newline
                if end > 0 && after[end - 1] == 0x0D { end -= 1 }
                guard after[..<end].allSatisfy(blank) else { continue }
                cut = newline + 1
            } else {
                guard index + 1 == tokens.count - 1, after.allSatisfy(blank) else { continue }
                cut = after.count
            }
            dropSuffix[index - 1] = before.count - lineStart
            dropPrefix[index + 1] = cut
        }
        for index in stride(from: 0, to: tokens.count, by: 2) where dropPrefix[index] > 0 || dropSuffix[index] > 0 {
            let bytes = Array(tokens[index].content.utf8)
            let start = dropPrefix[index], end = max(start, bytes.count - dropSuffix[index])
            tokens[index].content = String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }
}

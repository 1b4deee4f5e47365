/// A Mustache template, parsed once: the subset this project's pages use, rendered from
/// `TemplateValue`s.
///
/// Supported: `{{name}}` (HTML-escaped), `{{{name}}}` and `{{& name}}` (as is), dotted names
/// (`{{t.calls_title}}`), `{{.}}`, sections `{{#name}}…{{/name}}` (shown for anything but
/// `false` and an empty list; once per element of a list, with the element on top of the
/// names; once with an object or text on top), inverted sections `{{^name}}…{{/name}}`,
/// comments `{{! … }}`, and the spec's standalone lines (a line holding only a section,
/// inverted, closing or comment tag is left out whole). A name is looked up from the
/// innermost section outwards; the rest of a dotted name only inside what its first part
/// found (Mustache spec, "interpolation" and "sections").
///
/// Not supported, and refused when the template is parsed rather than rendered wrong:
/// partials, set delimiters, lambdas and anything else a tag might hold.
///
/// Why not swift-mustache, which the pages used before: it reads values as `Any` and casts
/// every value it looks up to six protocols, splits each dotted name on every lookup and
/// escapes a character at a time through a dictionary. Profiled on Call History (50 rows,
/// `bench/pages_bench.py`) that was 41% of the worker's time for a page whose query takes
/// 0.03 ms. Its output is the reference this one is tested against (TemplatingTests).
public struct Template: Sendable {
    let nodes: [Node]

    enum Node: Sendable {
        case text(String)
        case variable([String], escaped: Bool)
        case section([String], [Node])
        case inverted([String], [Node])
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public init(_ source: String) throws {
        var tokens = try Tokenizer.tokens(of: source)
        Tokenizer.stripStandaloneLines(&tokens)
        var position = 0
        nodes = try Template.tree(tokens, &position, closing: nil)
    }

    private static func tree(_ tokens: [Token], _ position: inout Int, closing: (name: String, line: Int)?) throws -> [Node] {
        var nodes: [Node] = []
        while position < tokens.count {
            let token = tokens[position]
            position += 1
            switch token.kind {
            case .text:
                if !token.content.isEmpty { nodes.append(.text(token.content)) }
            case .comment:
                break
            case .variable, .raw:
                nodes.append(.variable(try path(token), escaped: token.kind == .variable))
            case .section, .inverted:
                let body = try tree(tokens, &position, closing: (token.content, token.line))
                nodes.append(token.kind == .section ? .section(try path(token), body) : .inverted(try path(token), body))
            case .close:
                guard let closing, closing.name == token.content else {
                    throw ParseError(line: token.line, reason: closing.map { "{{/\(token.content)}} closes {{#\($0.name)}}" }
                        ?? "{{/\(token.content)}} closes nothing")
                }
                return nodes
            }
        }
        if let closing { throw ParseError(line: closing.line, reason: "{{#\(closing.name)}} is never closed") }
        return nodes
    }

    /// `a.b.c` as its parts; `.` as no parts (the value on top).
    private static func path(_ token: Token) throws -> [String] {
        let name = token.content
        if name == "." { return [] }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let allowed = { (byte: UInt8) in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D
        }
        guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(allowed) }) else {
            throw ParseError(line: token.line, reason: "\"\(name)\" is not a name (letters, digits, _ and -, parts joined by dots)")
        }
        return parts
    }
}

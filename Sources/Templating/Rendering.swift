extension Template {
    /// The template filled in from `value` (the names at the top level), with `outer`
    /// below it: names every page has (the CSRF token, the strings), found when the value
    /// does not have them.
    public func render(_ value: TemplateValue, outer: TemplateValue? = nil) -> String {
        var out = ""
        out.reserveCapacity(16 * 1024)
        var stack: [TemplateValue] = outer.map { [$0, value] } ?? [value]
        Template.render(nodes, &stack, into: &out)
        return out
    }

    private static func render(_ nodes: [Node], _ stack: inout [TemplateValue], into out: inout String) {
        for node in nodes {
            switch node {
            case let .text(text):
                out += text
            case let .variable(path, escaped):
                switch lookup(path, stack) {
                case let .text(text)?: escaped ? appendEscaped(text, to: &out) : (out += text)
                case let .bool(flag)?: out += flag ? "true" : "false"
                case .list?, .object?, nil: break
                }
            case let .section(path, body):
                guard let value = lookup(path, stack), value.isShown else { continue }
                switch value {
                case let .list(items):
                    for item in items {
                        stack.append(item)
                        render(body, &stack, into: &out)
                        stack.removeLast()
                    }
                case .bool:
                    render(body, &stack, into: &out)
                case .text, .object:
                    stack.append(value)
                    render(body, &stack, into: &out)
                    stack.removeLast()
                }
            case let .inverted(path, body):
                if !(lookup(path, stack)?.isShown ?? false) { render(body, &stack, into: &out) }
            }
        }
    }

    /// The first part from the innermost value outwards; the rest inside what it found only.
    private static func lookup(_ path: [String], _ stack: [TemplateValue]) -> TemplateValue? {
        guard let first = path.first else { return stack.last }
        var found: TemplateValue?
        for value in stack.reversed() {
            if case let .object(fields) = value, let child = fields[first] {
                found = child
                break
            }
        }
        for part in path.dropFirst() {
            guard case let .object(fields)? = found else { return nil }
            found = fields[part]
        }
        return found
    }

    /// `text` with `<`, `>`, `&`, `"` and `'` as entities, as `{{name}}` writes it: for HTML
    /// made outside a template (the SVG charts).
    public static func escapeHTML(_ text: String) -> String {
        var out = ""
        appendEscaped(text, to: &out)
        return out
    }

    /// `<`, `>`, `&`, `"` and `'` as entities (what swift-mustache escapes). Most values have
    /// none: one pass over the bytes says so and the text is appended whole.
    static func appendEscaped(_ text: String, to out: inout String) {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0x22 || $0 == 0x27 }) else {
            out += text
            return
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case 0x3C: bytes.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])               // &lt;
            case 0x3E: bytes.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])               // &gt;
            case 0x26: bytes.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])         // &amp;
            case 0x22: bytes.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])   // &quot;
            case 0x27: bytes.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])         // &#39;
            default: bytes.append(byte)
            }
        }
        out += String(decoding: bytes, as: UTF8.self)
    }
}

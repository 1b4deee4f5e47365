import Foundation
import Mustache
import Testing
@testable import Templating

/// Every page template of VoxWeb, rendered by ours and by swift-mustache from the same
/// random values, many times: any difference in how a name is found, a section shown or a
/// line left out would show on some page.
@Suite struct PageTemplateTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/VoxWeb/Templates").standardized

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".mustache") }.sorted()
    }

    /// SplitMix64: the same values for a seed on every run.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// Random values for the names a template uses: a name written out somewhere is text or
    /// a flag (the two renderers write lists differently, and no page writes one); a name
    /// used only as a section may also be a list of objects or an object, two levels deep.
    static func values(for source: String, seed: UInt64) -> TemplateValue {
        var random = Random(state: seed)
        let tags = source.matches(of: /\{\{([#^\/{&]?)\s*([A-Za-z0-9_.]+)\s*\}?\}\}/).map { (String($0.1), String($0.2)) }
            .filter { $0.1 != "." && !$0.1.hasPrefix(".") }
        let written = Set(tags.filter { $0.0 == "" || $0.0 == "{" || $0.0 == "&" }.map { $0.1.split(separator: ".")[0] })
        let roots = Set(tags.map { String($0.1.split(separator: ".")[0]) })
        let children = Set(tags.compactMap { $0.1.contains(".") ? String($0.1.split(separator: ".")[1]) : nil })
        // A section whose body writes `{{.}}` gets a text or a list of them.
        let writesItself = Set(tags.filter { $0.0 == "#" }.map(\.1).filter { name in
            source.firstRange(of: "{{#\(name)}}").map { open in
                source[open.upperBound...].prefix { _ in true }.split(separator: "{{/\(name)}}", maxSplits: 1).first?.contains("{{.}}") ?? false
            } ?? false
        })
        let texts: [TemplateValue] = ["", "plain", "<b>&amp;'\"", "Ёлка 1 234,50 ₽"]
        func leaf() -> TemplateValue { random.next(3) == 0 ? .bool(random.next(2) == 0) : texts[random.next(texts.count)] }
        func object(_ depth: Int) -> TemplateValue {
            var fields: [String: TemplateValue] = [:]
            for name in roots where random.next(3) == 0 { fields[name] = value(of: name, depth + 1) }
            for name in children where random.next(3) == 0 { fields[name] = leaf() }
            return .object(fields)
        }
        func value(of name: String, _ depth: Int) -> TemplateValue {
            if written.contains(Substring(name)) { return leaf() }
            // (not a flag: `true` shows the section with the enclosing object as `.`)
            if writesItself.contains(name) {
                return random.next(2) == 0 ? texts[random.next(texts.count)] : .list((0..<random.next(3)).map { _ in texts[random.next(texts.count)] })
            }
            return any(depth)
        }
        func any(_ depth: Int) -> TemplateValue {
            switch depth < 2 ? random.next(4) : 0 {
            case 0: return leaf()
            case 1: return .list((0..<random.next(3)).map { _ in object(depth + 1) })
            default: return object(depth + 1)
            }
        }
        var top: [String: TemplateValue] = [:]
        for name in roots where random.next(4) != 0 {
            top[name] = value(of: name, 0)
        }
        // Dotted names read inside objects (t.key, options.record): give the first part one.
        for (_, name) in tags where name.contains(".") {
            let parts = name.split(separator: ".").map(String.init)
            if case .object(var inner)? = top[parts[0]] {
                inner[parts[1]] = leaf()
                top[parts[0]] = .object(inner)
            } else {
                top[parts[0]] = .object([parts[1]: leaf()])
            }
        }
        return .object(top)
    }

    @Test func thereArePageTemplates() { #expect(Self.names.count > 15) }

    @Test(arguments: names)
    func rendersAsTheReference(_ name: String) throws {
        let source = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        let ours = try Template(source)
        let reference = try MustacheTemplate(string: source)
        for seed in UInt64(1)...40 {
            let value = Self.values(for: source, seed: seed)
            let expected = reference.render(TemplateTests.any(value))
            let rendered = ours.render(value)
            guard rendered == expected else {
                let difference = zip(rendered, expected).prefix { $0 == $1 }.count
                Issue.record("\(name) seed \(seed): first difference at \(difference): ours \(rendered.dropFirst(difference).prefix(80).debugDescription), reference \(expected.dropFirst(difference).prefix(80).debugDescription)")
                return
            }
        }
    }
}

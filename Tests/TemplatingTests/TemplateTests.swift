import Foundation
import Mustache
import Testing
@testable import Templating

/// Our renderer against swift-mustache (which passes the Mustache spec and rendered the pages
/// before): each case's expected text is also what swift-mustache makes of it, so an
/// expectation here is the reference's behaviour, not our reading of the spec.
@Suite struct TemplateTests {
    /// swift-mustache's rendering of the same template and values.
    static func reference(_ source: String, _ value: TemplateValue) throws -> String {
        let template = try MustacheTemplate(string: source)
        return template.render(any(value))
    }

    static func any(_ value: TemplateValue) -> Any {
        switch value {
        case let .text(text): text
        case let .bool(flag): flag
        case let .list(items): items.map(any)
        case let .object(fields): fields.mapValues(any)
        }
    }

    static let cases: [(String, TemplateValue, String)] = [
        ("Hello, {{name}}!", ["name": "<b>&'\""], "Hello, &lt;b&gt;&amp;&#39;&quot;!"),
        ("{{{html}}} {{&html}}", ["html": "<i>x</i>"], "<i>x</i> <i>x</i>"),
        ("[{{missing}}] [{{a.b.c}}]", ["a": ["b": ["c": "deep"]]], "[] [deep]"),
        ("{{#a}}{{b.c}}{{/a}}", ["a": ["x": "1"], "b": ["c": "outer"]], "outer"),
        // The rest of a dotted name is not looked for further out (spec: "dotted names").
        ("{{#a}}[{{b.c}}]{{/a}}", ["a": ["b": ["d": "1"]], "b": ["c": "outer"]], "[]"),
        ("{{#list}}<{{.}}>{{/list}}", ["list": ["1", "2", "3"]], "<1><2><3>"),
        ("{{#rows}}{{id}}:{{title}};{{/rows}}", ["title": "T", "rows": [["id": "1"], ["id": "2", "title": "own"]]], "1:T;2:own;"),
        ("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{^no}}!N{{/no}}{{^yes}}!Y{{/yes}}", ["yes": true, "no": false], "Y!N"),
        ("{{#empty}}E{{/empty}}{{^empty}}none{{/empty}}", ["empty": []], "none"),
        ("{{#text}}[{{.}}]{{/text}}{{^text}}no{{/text}}", ["text": ""], "[]"),
        ("{{#obj}}{{x}}{{/obj}}", ["obj": ["x": "in"]], "in"),
        ("{{^gone}}absent{{/gone}}", [:], "absent"),
        ("{{flag}} {{other}}", ["flag": true, "other": false], "true false"),
        ("{{! a comment }}x{{!another\nline}}y", [:], "xy"),
        ("{{ spaced }}|{{# s }}in{{/ s }}", ["spaced": "v", "s": true], "v|in"),
        // Standalone lines (spec: "sections", "inverted", "comments").
        ("<ul>\n  {{#items}}\n  <li>{{.}}</li>\n  {{/items}}\n</ul>\n", ["items": ["a", "b"]], "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n"),
        ("  {{#a}}\n#{{/a}}\n/", ["a": true], "#\n/"),
        ("#{{#a}}\n/\n  {{/a}}", ["a": true], "#\n/\n"),
        ("| {{#a}} {{/a}} |\n", ["a": true], "|   |\n"),
        ("| A {{#a}}{{b}}{{/a}} B |", ["a": true, "b": "x"], "| A x B |"),
        ("a\r\n  {{#b}}\r\nc\r\n  {{/b}}\r\nd", ["b": true], "a\r\nc\r\nd"),
        ("x\n  {{! note }}\ny", [:], "x\ny"),
        ("{{#a}}\n{{#b}}\nin\n{{/b}}\n{{/a}}\n", ["a": true, "b": true], "in\n"),
        ("  {{name}}\n", ["name": "v"], "  v\n"),
        ("Привет, {{имя_en}} — {{x}}", ["имя_en": "не имя", "x": "ё"], ""),
    ]

    @Test(arguments: 0..<cases.count)
    func rendersAsTheReferenceDoes(_ index: Int) throws {
        let (source, value, expected) = Self.cases[index]
        if source.contains("имя") {
            // Names are ASCII here (our templates' names are): refused when parsed.
            #expect(throws: Template.ParseError.self) { try Template(source) }
            return
        }
        let ours = try Template(source).render(value)
        #expect(ours == expected, "ours: \(ours.debugDescription)")
        #expect(try Self.reference(source, value) == expected, "the reference disagrees with the expectation")
    }

    @Test func outerNamesAreFoundBelowTheValues() throws {
        let template = try Template("{{csrf}} {{t.hi}} {{#rows}}{{t.hi}}{{csrf}}{{/rows}}")
        let html = template.render(["csrf": "own", "rows": [[:]]], outer: ["csrf": "outer", "t": ["hi": "hello"]])
        #expect(html == "own hello helloown")
    }

    @Test func refusesWhatItDoesNotRender() {
        for source in ["{{> partial}}", "{{=<% %>=}}", "{{$block}}{{/block}}", "{{#a}}", "{{/a}}", "{{#a}}{{/b}}",
                       "{{unclosed", "{{}}", "{{a b}}", "{{a..b}}"] {
            #expect(throws: Template.ParseError.self, "\(source)") { try Template(source) }
        }
        #expect((try? Template("x\n\n{{#a}}\ny"))  == nil)
        do {
            _ = try Template("x\n\n{{#open}}\ny")
        } catch let error as Template.ParseError {
            #expect(error.line == 3 && error.description.contains("never closed"))
        } catch {
            Issue.record("\(error)")
        }
    }
}

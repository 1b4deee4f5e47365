import Templating
import Testing
@testable import VoxWeb

/// Page values reach the templates as objects: what a template can read must be exactly what
/// the struct says, with nil optionals absent (so `{{#x}}` sections stay closed).
@Suite struct TemplateEncoderTests {
    struct Row: Encodable {
        let id: UInt64
        let name: String
        let note: String?
    }

    struct Values: Encodable {
        let title: String
        let count: Int
        let ratio: Double
        let done: Bool
        let rows: [Row]
        let first: Row?
        let missing: Row?
        let tags: [String]
    }

    @Test func structsBecomeObjectsWithNilsLeftOut() throws {
        let values = Values(title: "Calls", count: 3, ratio: 0.5, done: false,
                            rows: [Row(id: 1, name: "a", note: nil), Row(id: 2, name: "b", note: "n")],
                            first: Row(id: 7, name: "x", note: nil), missing: nil, tags: ["p", "q"])
        let expected: TemplateValue = [
            "title": "Calls", "count": "3", "ratio": "0.5", "done": false,
            "rows": [["id": "1", "name": "a"], ["id": "2", "name": "b", "note": "n"]],
            "first": ["id": "7", "name": "x"], "tags": ["p", "q"],
        ]
        #expect(TemplateEncoder.value(values) == expected)
    }

    @Test func templatesRenderTheStructsFields() throws {
        let templates = try Templates()
        let html = templates.render("error", Pages.Notice(kind: "k", text: "t"))
        #expect(html.contains("<h1> · </h1>"))  // the error template reads status and reason, which a Notice has not
        struct ErrorValues: Encodable { let status: Int; let reason: String; let message: String }
        let shown = templates.render("error", ErrorValues(status: 404, reason: "Not Found", message: "<no such call>"))
        #expect(shown.contains("<h1>404 · Not Found</h1>"))
        #expect(shown.contains("&lt;no such call&gt;"))
    }
}

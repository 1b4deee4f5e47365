import Testing
@testable import VoxWeb

/// Page values reach Mustache as dictionaries: what a template can read must be exactly what
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

    @Test func structsBecomeDictionariesWithNilsLeftOut() throws {
        let values = Values(title: "Calls", count: 3, ratio: 0.5, done: false,
                            rows: [Row(id: 1, name: "a", note: nil), Row(id: 2, name: "b", note: "n")],
                            first: Row(id: 7, name: "x", note: nil), missing: nil, tags: ["p", "q"])
        let context = TemplateEncoder.dictionary(values)
        #expect(context["title"] as? String == "Calls")
        #expect(context["count"] as? Int == 3)
        #expect(context["ratio"] as? Double == 0.5)
        #expect(context["done"] as? Bool == false)
        #expect(context.keys.contains("missing") == false)
        let rows = try #require(context["rows"] as? [Any])
        #expect(rows.count == 2)
        let first = try #require(rows.first as? [String: Any])
        #expect(first["id"] as? UInt64 == 1 && first["name"] as? String == "a" && first["note"] == nil)
        #expect((rows.last as? [String: Any])?["note"] as? String == "n")
        #expect((context["first"] as? [String: Any])?["id"] as? UInt64 == 7)
        #expect(context["tags"] as? [Any] as? [String] == ["p", "q"])
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

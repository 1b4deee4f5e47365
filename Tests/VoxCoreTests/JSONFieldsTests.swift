import Foundation
import Testing
@testable import VoxCore

@Suite struct JSONFieldsTests {
    func fields(_ json: String) throws(JSONFields.Malformed) -> JSONFields { try JSONFields(Array(json.utf8)) }

    @Test func readsScalarsAndSkipsNestedValues() throws {
        let f = try fields(#" { "s": "a\"b\\c\/d\n\u00e9\ud83d\ude00", "n": -12.5e+3, "i": 0, "t": true, "f": false, "z": null, "o": {"x": [1, {"y": []}]}, "a": [] } "#)
        #expect(f["s"] == .string("a\"b\\c/d\n\u{e9}\u{1F600}"))
        #expect(f["n"] == .number("-12.5e+3"))
        #expect(f["i"] == .number("0"))
        #expect(f["t"] == .bool(true))
        #expect(f["f"] == .bool(false))
        #expect(f["z"] == .null)
        #expect(f["o"] == .nested)
        #expect(f["a"] == .nested)
        #expect(f["missing"] == nil)
        #expect(try fields("{}").values.isEmpty)
    }

    @Test func laterDuplicatesWin() throws {
        #expect(try fields(#"{"k": 1, "k": "two"}"#)["k"] == .string("two"))
    }

    /// Every document here is judged the same way by Foundation's own parser.
    @Test func agreesWithJSONSerializationOnValidity() throws {
        let documents = [
            #"{"a":1}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":-}"#, #"{"a":1e}"#, #"{"a":1E-2}"#,
            #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":"\ud800"}"#, #"{"a":tru}"#, #"{"a":nul}"#,
            #"{"a" 1}"#, #"{a:1}"#, #"{"a":1} x"#, #"{"a":{"b":[true,false,null,"x"]}}"#, "{\"a\":\"\t\"}",
            #"{"a":"é"}"#, "", "{", "[1]", #"{"a":[[[[]]]]}"#, #"{"a":"\/"}"#, #" {"a" : 2 } "#,
        ]
        for document in documents {
            let foundation = (try? JSONSerialization.jsonObject(with: Data(document.utf8))) as? [String: Any] != nil
            let ours = (try? fields(document)) != nil
            #expect(ours == foundation, "\(document)")
        }
    }

    /// Foundation lets trailing commas through; JSON (and this reader) does not.
    @Test func refusesTrailingCommas() {
        for document in [#"{"a":[1,]}"#, #"{"a":1,}"#] {
            #expect(throws: JSONFields.Malformed.self) { try fields(document) }
        }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONFields.Malformed.self) { try JSONFields([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]) }
        let deep = "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(throws: JSONFields.Malformed.self) { try fields(deep) }
    }

    @Test func saysWhereItWentWrong() {
        #expect(throws: JSONFields.Malformed.self) { try fields(#"{"type": "call_started", "application_id": "#) }
        do {
            _ = try fields(#"{"a": 1 "b": 2}"#)
            Issue.record("parsed")
        } catch {
            #expect(error.description == "expected ',' or '}' at byte 8")
        }
    }
}

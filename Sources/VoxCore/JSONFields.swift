/// The top-level fields of one JSON object, read in a single pass over the bytes.
///
/// Why not `JSONDecoder`: a scenario event is the hot path of webhook ingest, and decoding it
/// through Foundation's generic machinery cost more than verifying its signature. This reads
/// exactly what an event needs (a flat object of strings, numbers, booleans and nulls) and
/// still checks the whole body against the JSON grammar: nested objects and arrays are
/// validated and skipped, so a field added to the scenario later does not break ingest.
public struct JSONFields: Sendable {
    public enum Value: Sendable, Equatable {
        case string(String)
        /// The number as written (`42`, `-1.5e3`), already checked against JSON's grammar.
        case number(String)
        case bool(Bool)
        case null
        /// An object or array: valid JSON, not looked into.
        case nested
    }

    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public let offset: Int
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Later duplicates win, as with `JSONDecoder`.
    public private(set) var values: [String: Value] = [:]

    public init(_ bytes: [UInt8]) throws(Malformed) {
        var reader = Reader(bytes: bytes)
        // An event has about ten fields: one allocation, not one per doubling.
        values.reserveCapacity(16)
        reader.skipSpace()
        try reader.expect(UInt8(ascii: "{"), "expected an object")
        reader.skipSpace()
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                reader.skipSpace()
                let key = try reader.string()
                reader.skipSpace()
                try reader.expect(UInt8(ascii: ":"), "expected ':'")
                values[key] = try reader.value(depth: 0)
                reader.skipSpace()
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "}"), "expected ',' or '}'")
        }
        reader.skipSpace()
        guard reader.atEnd else { throw reader.failure("unexpected data after the object") }
    }

    public subscript(key: String) -> Value? { values[key] }
}

private struct Reader {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 64

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    func failure(_ reason: String) -> JSONFields.Malformed { .init(reason: atEnd ? "unexpected end" : reason, offset: index) }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func expect(_ byte: UInt8, _ reason: String) throws(JSONFields.Malformed) {
        guard consume(byte) else { throw failure(reason) }
    }

    mutating func value(depth: Int) throws(JSONFields.Malformed) -> JSONFields.Value {
        skipSpace()
        guard index < bytes.count else { throw failure("expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipNested(depth: depth + 1)
            return .nested
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws(JSONFields.Malformed) {
        for expected in word.utf8 {
            guard consume(expected) else { throw failure("expected a value") }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func number() throws(JSONFields.Malformed) -> String {
        let start = index
        _ = consume(UInt8(ascii: "-"))
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        func digits() throws(JSONFields.Malformed) -> Int {
            let from = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index > from else { throw failure("expected a value") }
            return index - from
        }
        let leading = index
        let count = try digits()
        if count > 1, bytes[leading] == UInt8(ascii: "0") { throw failure("a number has a leading zero") }
        if consume(UInt8(ascii: ".")) { _ = try digits() }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            _ = try digits()
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// A string, escapes resolved. Control characters must be escaped; invalid UTF-8 is
    /// refused rather than repaired, since the body was signed as sent.
    mutating func string() throws(JSONFields.Malformed) -> String {
        try expect(UInt8(ascii: "\""), "expected a string")
        let start = index
        // The common case, no escapes: one slice, decoded once.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            guard bytes[index] >= 0x20 else { throw failure("a control character in a string") }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            let text = bytes.withUnsafeBufferPointer { all in
                String(validating: UnsafeBufferPointer(rebasing: all[start..<(index - 1)]), as: UTF8.self)
            }
            guard let text else { throw failure("invalid UTF-8 in a string") }
            return text
        }
        var utf8 = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw failure("a control character in a string") }
            guard byte == UInt8(ascii: "\\") else { utf8.append(byte); continue }
            guard index < bytes.count else { throw failure("unterminated string") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")) else { throw failure("a lone surrogate") }
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw failure("a lone surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw failure("a lone surrogate") }
                utf8 += Array(String(Character(unicode)).utf8)
            default: throw failure("an unknown escape")
            }
        }
        guard let text = String(validating: utf8, as: UTF8.self) else { throw failure("invalid UTF-8 in a string") }
        return text
    }

    mutating func hex4() throws(JSONFields.Malformed) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("unterminated string") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    /// An object or array, checked and passed over.
    mutating func skipNested(depth: Int) throws(JSONFields.Malformed) {
        guard depth <= Reader.maxDepth else { throw failure("nested too deeply") }
        let isObject = bytes[index] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        index += 1
        skipSpace()
        if consume(close) { return }
        repeat {
            skipSpace()
            if isObject {
                _ = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"), "expected ':'")
            }
            _ = try value(depth: depth)
            skipSpace()
        } while consume(UInt8(ascii: ","))
        try expect(close, isObject ? "expected ',' or '}'" : "expected ',' or ']'")
    }
}

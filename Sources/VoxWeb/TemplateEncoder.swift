import Templating

/// Turns a page's `Encodable` values into the `TemplateValue` a template reads, without
/// reflection: the synthesized `Encodable` conformance walks the fields at compiled speed.
/// Nil optionals are left out (an absent name, so `{{#x}}` stays closed); arrays stay lists;
/// numbers become their text; booleans stay flags.
enum TemplateEncoder {
    static func value(_ value: some Encodable) -> TemplateValue {
        (try? encoded(value)) ?? .object([:])
    }

    /// What one encoder produced; the containers fill it in place (a class, so a container
    /// and the encoder that made it share it, and a field added is not a copy of the rest).
    final class Box {
        var fields: [String: TemplateValue] = [:]
        var items: [TemplateValue] = []
        var single: TemplateValue?
        var isList = false

        var value: TemplateValue { single ?? (isList ? .list(items) : .object(fields)) }
    }

    struct ValueEncoder: Encoder {
        let box = Box()
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if box.fields.isEmpty { box.fields.reserveCapacity(16) }  // a table row's fields, without regrowing
            return KeyedEncodingContainer(Keyed<Key>(box: box))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            box.isList = true
            return Unkeyed(box: box)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(box: box) }
    }

    /// A value as a template reads it: plain values as they are, anything else encoded.
    ///
    /// The plain types are told apart by their metatype, a pointer comparison, where an `as?`
    /// cast that fails (six for every row of a table) runs the runtime's dynamic cast.
    static func encoded<T: Encodable>(_ value: T) throws -> TemplateValue {
        if T.self == String.self { return .text(unsafeBitCast(value, to: String.self)) }
        if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == Int.self { return .text(String(unsafeBitCast(value, to: Int.self))) }
        if T.self == UInt64.self { return .text(String(unsafeBitCast(value, to: UInt64.self))) }
        if T.self == Int64.self { return .text(String(unsafeBitCast(value, to: Int64.self))) }
        if T.self == Double.self { return .text(String(describing: unsafeBitCast(value, to: Double.self))) }
        let encoder = ValueEncoder()
        try value.encode(to: encoder)
        return encoder.box.value
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: Box
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { box.fields[key.stringValue] = .bool(value) }
        mutating func encode(_ value: String, forKey key: Key) throws { box.fields[key.stringValue] = .text(value) }
        mutating func encode(_ value: Int, forKey key: Key) throws { box.fields[key.stringValue] = .text(String(value)) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { box.fields[key.stringValue] = .text(String(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { box.fields[key.stringValue] = .text(String(describing: value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { box.fields[key.stringValue] = try encoded(value) }

        // Synthesized conformances never ask for nested containers; a hand-written one that did
        // would find its values missing on the page (visible), not a crash.
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> { ValueEncoder().container(keyedBy: keyType) }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { ValueEncoder().unkeyedContainer() }
        mutating func superEncoder() -> any Encoder { ValueEncoder() }
        mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder() }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey] { [] }
        var count: Int { box.items.count }

        mutating func encodeNil() throws {}
        mutating func encode(_ value: String) throws { box.items.append(.text(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { box.items.append(try encoded(value)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            ValueEncoder().container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { ValueEncoder().unkeyedContainer() }
        mutating func superEncoder() -> any Encoder { ValueEncoder() }
    }

    struct Single: SingleValueEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { box.single = .bool(false) }
        mutating func encode(_ value: String) throws { box.single = .text(value) }
        mutating func encode(_ value: Bool) throws { box.single = .bool(value) }
        mutating func encode(_ value: Int) throws { box.single = .text(String(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { box.single = try encoded(value) }
    }
}

/// Turns a page's `Encodable` values into the dictionaries Mustache reads, without reflection.
///
/// Mustache (swift-mustache) reads a struct through `Mirror` on every name it looks up, and
/// again for each enclosing section it falls back to; a 100-row Call History page rendered
/// 2.2 times slower than with dictionaries, and reflecting each struct once still cost a small
/// page 15%. The synthesized `Encodable` conformance walks the fields at compiled speed.
/// Nil optionals are left out (an absent name); arrays stay arrays; numbers, text and
/// booleans stay what they are.
enum TemplateEncoder {
    static func dictionary(_ value: some Encodable) -> [String: Any] {
        let encoder = ValueEncoder()
        try? value.encode(to: encoder)
        return encoder.box.value as? [String: Any] ?? [:]
    }

    /// Where one encoded value ends up; containers write into it as they fill.
    final class Box {
        var value: Any = [String: Any]()
    }

    struct ValueEncoder: Encoder {
        let box = Box()
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            box.value = [String: Any]()
            return KeyedEncodingContainer(Keyed<Key>(box: box))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            box.value = [Any]()
            return Unkeyed(box: box)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(box: box) }
    }

    /// A value as Mustache reads it: plain values as they are, anything else encoded.
    static func plain(_ value: some Encodable) throws -> Any {
        switch value {
        case let text as String: return text
        case let flag as Bool: return flag
        case let number as Int: return number
        case let number as UInt64: return number
        case let number as Int64: return number
        case let number as Double: return number
        default:
            let encoder = ValueEncoder()
            try value.encode(to: encoder)
            return encoder.box.value
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: Box
        var codingPath: [any CodingKey] { [] }

        private func set(_ value: Any, _ key: Key) {
            var dictionary = box.value as? [String: Any] ?? [:]
            box.value = 0  // one owner while it changes: no copy of the dictionary
            dictionary[key.stringValue] = value
            box.value = dictionary
        }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(value, key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(value, key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(value, key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(value, key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { set(try plain(value), key) }

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
        var count: Int { (box.value as? [Any])?.count ?? 0 }

        private func append(_ value: Any) {
            var array = box.value as? [Any] ?? []
            box.value = 0
            array.append(value)
            box.value = array
        }

        mutating func encodeNil() throws {}
        mutating func encode(_ value: String) throws { append(value) }
        mutating func encode<T: Encodable>(_ value: T) throws { append(try plain(value)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            ValueEncoder().container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { ValueEncoder().unkeyedContainer() }
        mutating func superEncoder() -> any Encoder { ValueEncoder() }
    }

    struct Single: SingleValueEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { box.value = Optional<Any>.none as Any }
        mutating func encode(_ value: String) throws { box.value = value }
        mutating func encode(_ value: Bool) throws { box.value = value }
        mutating func encode(_ value: Int) throws { box.value = value }
        mutating func encode<T: Encodable>(_ value: T) throws { box.value = try plain(value) }
    }
}

import Foundation

/// Reads a key field by field. Every fixed-width field is big-endian so that byte order
/// (LMDB's memcmp) is numeric order.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inlinable
    public var remaining: Int { bytes.count - offset }

    @inlinable
    public mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw CodecError.truncated(needed: count, available: remaining) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    /// Inlinable so that it is specialized for each integer type at the call site: an
    /// unspecialized generic shift loop was most of the cost of reading statistics.
    @inlinable
    public mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= bytes.count - offset else { throw CodecError.truncated(needed: size, available: bytes.count - offset) }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(bigEndian: value)
    }

    public mutating func rest() -> UnsafeRawBufferPointer {
        defer { offset = bytes.count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset...])
    }
}

public enum CodecError: Error, CustomStringConvertible {
    case truncated(needed: Int, available: Int)
    case trailingBytes(Int)
    case invalidUTF8

    public var description: String {
        switch self {
        case let .truncated(needed, available): return "needed \(needed) bytes, found \(available)"
        case let .trailingBytes(count): return "\(count) unexpected trailing bytes"
        case .invalidUTF8: return "invalid UTF-8"
        }
    }
}

extension Array where Element == UInt8 {
    @inlinable
    public mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }
}

// MARK: - Key codecs

/// How a table's keys become bytes. Keys compare as bytes, so a codec decides sort order:
/// integers are big-endian, and only the last field of a compound key may vary in width.
public protocol KeyCodec {
    associatedtype Value
    static func write(_ value: Value, to bytes: inout [UInt8])
    static func read(from reader: inout ByteReader) throws -> Value
}

extension KeyCodec {
    @inlinable
    public static func encode(_ value: Value) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        write(value, to: &bytes)
        return bytes
    }

    @inlinable
    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> Value {
        var reader = ByteReader(raw)
        let value = try read(from: &reader)
        if reader.remaining != 0 { throw CodecError.trailingBytes(reader.remaining) }
        return value
    }
}

/// A key field with a smallest and a largest value, so that a range over a compound key
/// can be closed with `min`/`max` in the fields it does not constrain.
public protocol BoundedKeyCodec: KeyCodec {
    static var min: Value { get }
    static var max: Value { get }
}

public enum UInt64Key: BoundedKeyCodec {
    @inlinable
    public static func write(_ value: UInt64, to bytes: inout [UInt8]) { bytes.appendBigEndian(value) }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> UInt64 { try reader.readBigEndian(UInt64.self) }
    public static let min: UInt64 = 0
    public static let max: UInt64 = .max
}

public enum UInt32Key: BoundedKeyCodec {
    @inlinable
    public static func write(_ value: UInt32, to bytes: inout [UInt8]) { bytes.appendBigEndian(value) }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> UInt32 { try reader.readBigEndian(UInt32.self) }
    public static let min: UInt32 = 0
    public static let max: UInt32 = .max
}

public enum UInt8Key: BoundedKeyCodec {
    @inlinable
    public static func write(_ value: UInt8, to bytes: inout [UInt8]) { bytes.append(value) }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> UInt8 { try reader.readBigEndian(UInt8.self) }
    public static let min: UInt8 = 0
    public static let max: UInt8 = .max
}

/// Signed integers with the sign bit flipped, so that negative numbers sort before positive.
public enum Int64Key: BoundedKeyCodec {
    @inlinable
    public static func write(_ value: Int64, to bytes: inout [UInt8]) {
        bytes.appendBigEndian(UInt64(bitPattern: value) ^ (1 << 63))
    }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> Int64 {
        Int64(bitPattern: try reader.readBigEndian(UInt64.self) ^ (1 << 63))
    }
    public static let min: Int64 = .min
    public static let max: Int64 = .max
}

/// UTF-8 text. It takes the rest of the key, so it can only be the last field.
public enum StringKey: KeyCodec {
    @inlinable
    public static func write(_ value: String, to bytes: inout [UInt8]) { bytes.append(contentsOf: value.utf8) }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> String {
        let raw = reader.rest()
        guard let text = String(validating: raw, as: UTF8.self) else { throw CodecError.invalidUTF8 }
        return text
    }
}

/// UTF-8 text followed by a 0 byte, so that it can sit before other fields (a search term
/// before its time bucket). A string sorts before every longer one it begins, as in
/// `StringKey`. The text must not contain U+0000; writing one is a programming error (terms
/// come from `SearchText`, which keeps letters and digits only).
public enum TerminatedStringKey: KeyCodec {
    @inlinable
    public static func write(_ value: String, to bytes: inout [UInt8]) {
        precondition(!value.utf8.contains(0), "TerminatedStringKey: text with U+0000")
        bytes.append(contentsOf: value.utf8)
        bytes.append(0)
    }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> String {
        let rest = reader.bytes[reader.offset...]
        guard let end = rest.firstIndex(of: 0) else { throw CodecError.truncated(needed: 1, available: 0) }
        let raw = try reader.take(end - reader.offset)
        _ = try reader.take(1)
        guard let text = String(validating: raw, as: UTF8.self) else { throw CodecError.invalidUTF8 }
        return text
    }
}

/// Raw bytes. Like `StringKey`, only as the last field.
public enum BytesKey: KeyCodec {
    @inlinable
    public static func write(_ value: [UInt8], to bytes: inout [UInt8]) { bytes.append(contentsOf: value) }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> [UInt8] { Array(reader.rest()) }
}

public enum Pair<A: KeyCodec, B: KeyCodec>: KeyCodec {
    @inlinable
    public static func write(_ value: (A.Value, B.Value), to bytes: inout [UInt8]) {
        A.write(value.0, to: &bytes)
        B.write(value.1, to: &bytes)
    }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> (A.Value, B.Value) {
        (try A.read(from: &reader), try B.read(from: &reader))
    }
}

public enum Triple<A: KeyCodec, B: KeyCodec, C: KeyCodec>: KeyCodec {
    @inlinable
    public static func write(_ value: (A.Value, B.Value, C.Value), to bytes: inout [UInt8]) {
        A.write(value.0, to: &bytes)
        B.write(value.1, to: &bytes)
        C.write(value.2, to: &bytes)
    }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> (A.Value, B.Value, C.Value) {
        (try A.read(from: &reader), try B.read(from: &reader), try C.read(from: &reader))
    }
}

public enum Quad<A: KeyCodec, B: KeyCodec, C: KeyCodec, D: KeyCodec>: KeyCodec {
    @inlinable
    public static func write(_ value: (A.Value, B.Value, C.Value, D.Value), to bytes: inout [UInt8]) {
        A.write(value.0, to: &bytes)
        B.write(value.1, to: &bytes)
        C.write(value.2, to: &bytes)
        D.write(value.3, to: &bytes)
    }
    @inlinable
    public static func read(from reader: inout ByteReader) throws -> (A.Value, B.Value, C.Value, D.Value) {
        (try A.read(from: &reader), try B.read(from: &reader), try C.read(from: &reader), try D.read(from: &reader))
    }
}

// MARK: - Value codecs

/// How a table's values become bytes.
public protocol ValueCodec {
    associatedtype Value
    static func encode(_ value: Value) throws -> [UInt8]
    static func decode(_ raw: UnsafeRawBufferPointer) throws -> Value
}

/// Codable records as JSON: readable with `mdb_dump`, and tolerant of fields added later.
public enum JSONValue<T: Codable>: ValueCodec {
    public static func encode(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(raw))
    }
}

public enum BytesValue: ValueCodec {
    public static func encode(_ value: [UInt8]) -> [UInt8] { value }
    public static func decode(_ raw: UnsafeRawBufferPointer) -> [UInt8] { Array(raw) }
}

public enum StringValue: ValueCodec {
    public static func encode(_ value: String) -> [UInt8] { Array(value.utf8) }
    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> String {
        guard let text = String(validating: raw, as: UTF8.self) else { throw CodecError.invalidUTF8 }
        return text
    }
}

/// Index entries carry everything in their key; their value is empty.
public enum EmptyValue: ValueCodec {
    public static func encode(_ value: Void) -> [UInt8] { [] }
    public static func decode(_ raw: UnsafeRawBufferPointer) {}
}

/// A key codec used for values, e.g. an index whose value is the primary key.
public enum KeyAsValue<K: KeyCodec>: ValueCodec {
    public static func encode(_ value: K.Value) -> [UInt8] { K.encode(value) }
    public static func decode(_ raw: UnsafeRawBufferPointer) throws -> K.Value { try K.decode(raw) }
}

// MARK: - Helpers for hand-written binary record codecs

extension ByteReader {
    /// A string written by `appendString`: u16 length, then UTF-8.
    public mutating func readString() throws -> String {
        let length = Int(try readBigEndian(UInt16.self))
        return String(decoding: try take(length), as: UTF8.self)
    }

    public mutating func readOptionalString() throws -> String? {
        try readBigEndian(UInt8.self) == 0 ? nil : try readString()
    }
}

extension Array where Element == UInt8 {
    public mutating func appendString(_ text: String) {
        let utf8 = text.utf8.prefix(Int(UInt16.max))
        appendBigEndian(UInt16(utf8.count))
        append(contentsOf: utf8)
    }

    public mutating func appendOptionalString(_ text: String?) {
        if let text {
            append(1)
            appendString(text)
        } else {
            append(0)
        }
    }
}

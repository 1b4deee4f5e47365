import CZlib
import Foundation

/// A ZIP archive written as a stream: an entry read from elsewhere (a recording) goes out as
/// it is read, its CRC-32 and sizes in a data descriptor after it (general purpose bit 3), so
/// nothing is held or spooled to disk but one buffer. Such an entry is deflated at level 0
/// (stored blocks: the bytes as they are, 5 bytes of framing per 64 KiB, no compression
/// attempted on audio that is compressed already), because readers such as Java's
/// `ZipInputStream` refuse a data descriptor on a *stored* entry (APPNOTE 4.4.4 allows it;
/// they cannot find its end). An entry given whole (a transcript, the CSV) is stored, its CRC
/// and sizes in its local header, with no descriptor.
///
/// Sizes above 4 GiB per entry are refused (no recording is that large); offsets past 4 GiB,
/// which a large selection reaches, use the ZIP64 extensions in the central directory
/// (APPNOTE 6.3.9, sections 4.3.14–4.3.16, 4.5.3). Names are UTF-8 (bit 11).
public final class ZipWriter {
    public enum Failure: Error, CustomStringConvertible {
        case entryTooLarge(String)
        case finished

        public var description: String {
            switch self {
            case let .entryTooLarge(name): "\(name) is larger than 4 GiB"
            case .finished: "the archive is already finished"
            }
        }
    }

    private struct Entry {
        let name: [UInt8]
        let flags: UInt16
        let method: UInt16
        let crc: UInt32
        let compressedSize: UInt64
        let size: UInt64
        let offset: UInt64
        let time: UInt16
        let date: UInt16
    }

    private static let utf8Names: UInt16 = 0x0800
    private static let sizesAfterData: UInt16 = 0x0008
    private static let stored: UInt16 = 0
    private static let deflated: UInt16 = 8

    private let output: ([UInt8]) throws -> Void
    private var entries: [Entry] = []
    private var offset: UInt64 = 0
    private var done = false
    /// Level 0 raw deflate for streamed entries, reset for each.
    private var compressor: Gzip.Compressor?

    /// `output` receives the archive's bytes in order.
    public init(_ output: @escaping ([UInt8]) throws -> Void) { self.output = output }

    /// Adds an entry whose bytes `produce` hands to the function it is given, in pieces.
    public func add(name: String, modified: Date, _ produce: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        guard !done else { throw Failure.finished }
        let nameBytes = Array(Self.safeName(name).utf8)
        let (time, date) = Self.dosTime(modified)
        let start = offset
        let flags = Self.sizesAfterData | Self.utf8Names
        try emit(Self.localHeader(nameBytes, flags: flags, method: Self.deflated, time: time, date: date, crc: 0, compressed: 0, size: 0))
        if let compressor { try compressor.reset() } else { compressor = try Gzip.Compressor(level: 0, raw: true) }
        let deflater = compressor!
        var crc = crc32(0, nil, 0)
        var size: UInt64 = 0, compressed: UInt64 = 0
        func out(_ bytes: [UInt8]) throws {
            compressed += UInt64(bytes.count)
            // 0xFFFFFFFF itself means "see the ZIP64 field" to a reader: refused too.
            guard compressed < UInt64(UInt32.max) else { throw Failure.entryTooLarge(name) }
            if !bytes.isEmpty { try emit(bytes) }
        }
        try produce { bytes in
            guard !bytes.isEmpty else { return }
            crc = bytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
            size += UInt64(bytes.count)
            guard size < UInt64(UInt32.max) else { throw Failure.entryTooLarge(name) }
            try out(try bytes.withUnsafeBytes { try deflater.feed($0) })
        }
        try out(try deflater.finish())
        var descriptor: [UInt8] = []
        descriptor.le32(0x0807_4B50)
        descriptor.le32(UInt32(crc)); descriptor.le32(UInt32(compressed)); descriptor.le32(UInt32(size))
        try emit(descriptor)
        entries.append(Entry(name: nameBytes, flags: flags, method: Self.deflated, crc: UInt32(crc), compressedSize: compressed,
                             size: size, offset: start, time: time, date: date))
    }

    /// Adds an entry held whole: stored, with its CRC and sizes in its header.
    public func add(name: String, modified: Date, bytes: [UInt8]) throws {
        guard !done else { throw Failure.finished }
        guard bytes.count < Int(UInt32.max) else { throw Failure.entryTooLarge(name) }
        let nameBytes = Array(Self.safeName(name).utf8)
        let (time, date) = Self.dosTime(modified)
        let crc = UInt32(bytes.withUnsafeBufferPointer { crc32(crc32(0, nil, 0), $0.baseAddress, uInt($0.count)) })
        let start = offset
        let size = UInt64(bytes.count)
        try emit(Self.localHeader(nameBytes, flags: Self.utf8Names, method: Self.stored, time: time, date: date,
                                  crc: crc, compressed: size, size: size))
        if !bytes.isEmpty { try emit(bytes) }
        entries.append(Entry(name: nameBytes, flags: Self.utf8Names, method: Self.stored, crc: crc, compressedSize: size,
                             size: size, offset: start, time: time, date: date))
    }

    private static func localHeader(_ name: [UInt8], flags: UInt16, method: UInt16, time: UInt16, date: UInt16,
                                    crc: UInt32, compressed: UInt64, size: UInt64) -> [UInt8] {
        var header: [UInt8] = []
        header.le32(0x0403_4B50)
        header.le16(20)                 // version needed: 2.0 (deflate)
        header.le16(flags); header.le16(method)
        header.le16(time); header.le16(date)
        header.le32(crc); header.le32(UInt32(compressed)); header.le32(UInt32(size))  // zeros: in the descriptor
        header.le16(UInt16(name.count)); header.le16(0)
        return header + name
    }

    /// Writes the central directory. The archive is complete when this returns.
    public func finish() throws {
        guard !done else { throw Failure.finished }
        done = true
        let directoryStart = offset
        for entry in entries {
            let zip64 = entry.offset >= UInt64(UInt32.max)
            var record: [UInt8] = []
            record.le32(0x0201_4B50)
            record.le16(zip64 ? 45 : 20); record.le16(zip64 ? 45 : 20)
            record.le16(entry.flags); record.le16(entry.method)
            record.le16(entry.time); record.le16(entry.date)
            record.le32(entry.crc); record.le32(UInt32(entry.compressedSize)); record.le32(UInt32(entry.size))
            record.le16(UInt16(entry.name.count)); record.le16(zip64 ? 12 : 0); record.le16(0)
            record.le16(0); record.le16(0); record.le32(0)
            record.le32(zip64 ? UInt32.max : UInt32(entry.offset))
            record += entry.name
            if zip64 {
                record.le16(0x0001); record.le16(8); record.le64(entry.offset)
            }
            try emit(record)
        }
        let directorySize = offset - directoryStart
        let needs64 = entries.count >= 0xFFFF || directoryStart >= UInt64(UInt32.max) || offset >= UInt64(UInt32.max)
        if needs64 {
            let recordStart = offset
            var end64: [UInt8] = []
            end64.le32(0x0606_4B50); end64.le64(44)
            end64.le16(45); end64.le16(45); end64.le32(0); end64.le32(0)
            end64.le64(UInt64(entries.count)); end64.le64(UInt64(entries.count))
            end64.le64(directorySize); end64.le64(directoryStart)
            end64.le32(0x0706_4B50); end64.le32(0); end64.le64(recordStart); end64.le32(1)
            try emit(end64)
        }
        var end: [UInt8] = []
        end.le32(0x0605_4B50); end.le16(0); end.le16(0)
        let count = UInt16(min(entries.count, 0xFFFF))
        end.le16(count); end.le16(count)
        end.le32(needs64 ? UInt32.max : UInt32(directorySize))
        end.le32(needs64 ? UInt32.max : UInt32(directoryStart))
        end.le16(0)
        try emit(end)
    }

    private func emit(_ bytes: [UInt8]) throws {
        try output(bytes)
        offset += UInt64(bytes.count)
    }

    /// A relative path without `..`, leading slashes or backslashes: what unpacks it cannot
    /// write outside the folder it unpacks into (names are built from our own data, but a
    /// file name is still checked where it is made).
    static func safeName(_ name: String) -> String {
        let parts = name.replacingOccurrences(of: "\\", with: "/").split(separator: "/").filter { $0 != "." && $0 != ".." }
        let joined = parts.joined(separator: "/")
        // The name's length is a 16-bit field: cut at 1,000 bytes, on a character's boundary.
        var cut = ""
        for character in joined {
            if cut.utf8.count + character.utf8.count > 1_000 { break }
            cut.append(character)
        }
        return cut.isEmpty ? "file" : cut
    }

    /// MS-DOS time and date (UTC; ZIP has no zone), from 1980 on.
    static func dosTime(_ date: Date) -> (UInt16, UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: max(date, Date(timeIntervalSince1970: 315_532_800)))
        let year = min(max((c.year ?? 1980) - 1980, 0), 127)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(year << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func le16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    fileprivate mutating func le32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((v >> UInt32(shift)) & 0xFF)) } }
    fileprivate mutating func le64(_ v: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { append(UInt8((v >> UInt64(shift)) & 0xFF)) } }
}

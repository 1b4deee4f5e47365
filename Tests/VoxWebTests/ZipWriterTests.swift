import Compression
import Foundation
import Testing

/// The archive is checked by a reader we did not write: Python's zipfile (CRC of every entry,
/// names, sizes), the same reader the end-to-end export test uses.
@Suite struct ZipWriterTests {
    func pythonReads(_ archive: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID()).zip").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(archive).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            for i in z.infolist():
                print(i.filename, i.file_size, i.date_time[:3], i.flag_bits & 0x808)
            """, path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test func entriesStreamedInPiecesReadBackWithTheirCRCs() throws {
        var archive: [UInt8] = []
        let zip = ZipWriter { archive += $0 }
        let when = Date(timeIntervalSince1970: 1_790_000_000)
        try zip.add(name: "recordings/звонок 1.wav", modified: when) { write in
            for piece in 0..<50 { try write([UInt8](repeating: UInt8(piece), count: 10_000)) }
        }
        try zip.add(name: "../../etc/passwd", modified: when, bytes: Array("not outside\n".utf8))
        try zip.add(name: "calls.csv", modified: Date(timeIntervalSince1970: 0), bytes: [])
        try zip.finish()
        let listing = try pythonReads(archive)
        #expect(listing.contains("recordings/звонок 1.wav 500000 (2026, 9, 21) 2056"))
        #expect(listing.contains("etc/passwd 12 "))
        #expect(!listing.contains(".."))
        // A time before 1980 (ZIP cannot say it) becomes 1980-01-01.
        #expect(listing.contains("calls.csv 0 (1980, 1, 1)"))
        #expect(throws: ZipWriter.Failure.self) { try zip.add(name: "late", modified: when, bytes: []) }
    }
}

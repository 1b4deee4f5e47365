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
                # What Java's ZipInputStream refuses: a stored entry whose sizes follow its data.
                assert not (i.compress_type == zipfile.ZIP_STORED and i.flag_bits & 0x8), i.filename
                print(i.filename, i.file_size, i.date_time[:3], i.flag_bits & 0x808, i.compress_type, sum(z.read(i)) % 251)
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
        // Streamed: deflated at level 0, sizes after the data; its bytes back as they went in.
        let sum = (0..<50).reduce(0) { $0 + $1 * 10_000 } % 251
        #expect(listing.contains("recordings/звонок 1.wav 500000 (2026, 9, 21) 2056 8 \(sum)"))
        // Whole: stored, sizes in the header.
        #expect(listing.contains("etc/passwd 12 (2026, 9, 21) 2048 0 "))
        #expect(!listing.contains(".."))
        // A time before 1980 (ZIP cannot say it) becomes 1980-01-01.
        #expect(listing.contains("calls.csv 0 (1980, 1, 1) 2048 0 0"))
        #expect(throws: ZipWriter.Failure.self) { try zip.add(name: "late", modified: when, bytes: []) }
    }

    /// Java's `ZipInputStream` reads an archive front to back by its local headers, as many
    /// streaming readers do, and refuses a stored entry with a data descriptor. Where this
    /// machine has Java (Debian's default-jre), it reads one of ours to the end.
    @Test func javaZipInputStreamReadsItThrough() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/java") else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zip-java-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var archive: [UInt8] = []
        let zip = ZipWriter { archive += $0 }
        let when = Date(timeIntervalSince1970: 1_790_000_000)
        try zip.add(name: "recordings/1.mp3", modified: when) { write in
            for piece in 0..<20 { try write([UInt8](repeating: UInt8(piece), count: 70_000)) }
        }
        try zip.add(name: "transcripts/call-1.txt", modified: when, bytes: Array("Agent: Hello\n".utf8))
        try zip.add(name: "calls.csv", modified: when, bytes: Array("call_id\r\n1\r\n".utf8))
        try zip.finish()
        try Data(archive).write(to: folder.appendingPathComponent("a.zip"))
        try """
            import java.io.*; import java.util.zip.*;
            public class Check { public static void main(String[] a) throws Exception {
              try (ZipInputStream z = new ZipInputStream(new FileInputStream(a[0]))) {
                ZipEntry e; byte[] b = new byte[8192];
                while ((e = z.getNextEntry()) != null) { long n = 0; int r; while ((r = z.read(b)) > 0) n += r; System.out.println(e.getName() + " " + n); }
              } } }
            """.write(to: folder.appendingPathComponent("Check.java"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/java")
        process.arguments = [folder.appendingPathComponent("Check.java").path, folder.appendingPathComponent("a.zip").path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        #expect(printed == "recordings/1.mp3 1400000\ntranscripts/call-1.txt 13\ncalls.csv 12\n")
    }
}

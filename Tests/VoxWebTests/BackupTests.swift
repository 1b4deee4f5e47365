import Compression
import CryptoPrimitives
import Foundation
import KVStore
import ObjectStore
import Testing
import VoxCore
@testable import VoxServices

@Suite struct BackupTests {
    @Test func gzipRoundTripsAndIsReadByGunzip() throws {
        var input: [UInt8] = []
        for index in 0..<300_000 { input.append(UInt8(truncatingIfNeeded: index % 251 == 0 ? index * 7 : index % 13)) }
        let compressor = try Gzip.Compressor()
        var compressed: [UInt8] = []
        for chunk in stride(from: 0, to: input.count, by: 70_001) {
            compressed += try input[chunk..<min(chunk + 70_001, input.count)].withUnsafeBytes { try compressor.feed($0) }
        }
        compressed += try compressor.finish()
        #expect(compressed.prefix(2) == [0x1F, 0x8B] && compressed.count < input.count / 4)

        // Fed in odd pieces, it comes back whole.
        let decompressor = try Gzip.Decompressor()
        var output: [UInt8] = []
        for chunk in stride(from: 0, to: compressed.count, by: 997) {
            try compressed[chunk..<min(chunk + 997, compressed.count)].withUnsafeBytes {
                try decompressor.feed($0) { output += $0 }
            }
        }
        #expect(decompressor.isFinished && output == input)

        // The system's gunzip reads it too: it is plain RFC 1952.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString).gz").path
        defer { unlink(path) }
        try Data(compressed).write(to: URL(fileURLWithPath: path))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", path]
        let pipe = Pipe()
        gunzip.standardOutput = pipe
        try gunzip.run()
        let viaGunzip = pipe.fileHandleForReading.readDataToEndOfFile()
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0 && Array(viaGunzip) == input)
    }

    @Test func corruptOrTrailingGzipIsRefused() throws {
        let compressor = try Gzip.Compressor()
        var compressed = try Array("hello, backups".utf8).withUnsafeBytes { try compressor.feed($0) } + compressor.finish()
        let trailing = compressed + [1, 2, 3]
        #expect(throws: Gzip.Failure.self) {
            try trailing.withUnsafeBytes { try Gzip.Decompressor().feed($0) { _ in } }
        }
        compressed[12] ^= 0xFF
        #expect(throws: Gzip.Failure.self) {
            let decompressor = try Gzip.Decompressor()
            try compressed.withUnsafeBytes { try decompressor.feed($0) { _ in } }
            if !decompressor.isFinished { throw Gzip.Failure(description: "short") }
        }
    }

    @Test func namesAreCheckedBeforeTheyBecomeKeys() {
        #expect(Backups.isValidName(Backups.name(at: Date(timeIntervalSince1970: 1_796_163_300))))
        #expect(Backups.name(at: Date(timeIntervalSince1970: 1_796_163_300)) == "voxfcgi-20261201T221500Z")
        for bad in ["", "voxfcgi-", "voxfcgi-20261201T221500", "voxfcgi-20261201X221500Z", "voxfcgi-2026120/T221500Z",
                    "../voxfcgi-20261201T221500Z", "voxfcgi-20261201T221500Z.json", "VOXFCGI-20261201T221500Z"] {
            #expect(!Backups.isValidName(bad), "\(bad)")
        }
    }

    /// Grandfather-father-son over 40 days of four backups a day: the newest of each of the
    /// last 7 days, of the last 4 ISO weeks, and the newest of all.
    @Test func retentionKeepsDailiesAndWeeklies() {
        let start = Date(timeIntervalSince1970: 1_790_000_000)  // any fixed instant: nothing here is relative to now
        let backups = (0..<160).map { index in
            (name: "b\(index)", at: start.addingTimeInterval(Double(index) * 6 * 3600))
        }
        let kept = BackupPolicy(daily: 7, weekly: 4).kept(backups)
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = .gmt
        let newestPerDay = Dictionary(grouping: backups) { calendar.startOfDay(for: $0.at) }.mapValues { $0.max { $0.at < $1.at }!.name }
        let days = newestPerDay.keys.sorted(by: >).prefix(7).map { newestPerDay[$0]! }
        let newestPerWeek = Dictionary(grouping: backups) { calendar.dateInterval(of: .weekOfYear, for: $0.at)!.start }
            .mapValues { $0.max { $0.at < $1.at }!.name }
        let weeks = newestPerWeek.keys.sorted(by: >).prefix(4).map { newestPerWeek[$0]! }
        #expect(kept == Set(days + weeks + ["b159"]))
        #expect(kept.count >= 7 && kept.count <= 11)
        #expect(BackupPolicy(daily: 0, weekly: 0).kept(backups) == ["b159"])
        #expect(BackupPolicy().kept([]) == [])
    }

    @Test func theScheduleWaitsAfterAFailure() {
        let policy = BackupPolicy(everyHours: 24)
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        #expect(policy.isDue(lastSuccess: nil, now: now))
        #expect(!policy.isDue(lastSuccess: now.addingTimeInterval(-23 * 3600), now: now))
        #expect(policy.isDue(lastSuccess: now.addingTimeInterval(-24 * 3600), now: now))
        #expect(!BackupPolicy(everyHours: 0).isDue(lastSuccess: nil, now: now))
    }

    /// The snapshot streamed through the pipe and gzip is LMDB's compacting copy, byte for byte.
    @Test func theStreamedSnapshotIsTheCompactCopy() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = try Database(path: folder + "/lmdb")
        try database.environment.write { txn in
            for id in 1...2000 { try database.sequences.put(txn, "seq-\(id)", UInt64(id)) }
        }
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let environment = database.environment
        let writer = descriptors[1]
        let thread = Thread { try? environment.copy(to: writer, compact: true); close(writer) }
        thread.start()
        let source = try CompressingSource(descriptor: descriptors[0])
        var compressed: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { break }
            compressed += buffer[0..<count]
        }
        close(descriptors[0])
        var raw: [UInt8] = []
        try compressed.withUnsafeBytes { try Gzip.Decompressor().feed($0) { raw += $0 } }
        #expect(Int64(raw.count) == source.rawBytes && source.digest == SHA256.hash(compressed))

        let direct = folder + "/direct.mdb"
        let file = open(direct, O_WRONLY | O_CREAT, 0o600)
        try environment.copy(to: file, compact: true)
        close(file)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: direct))) == raw)
    }
}

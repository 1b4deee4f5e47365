import FastCGI
import Foundation
import Testing
import VoxCore
import VoxServices
@testable import VoxWeb

/// Issue 12: values from outside that used to trap, reach too far, or leak into a spreadsheet.
@Suite struct HostileInputTests {
    func harnessWithCalls(_ calls: (User, Application, Date) -> [Call] = { _, _, _ in [] }) throws -> (TestHarness, User) {
        let harness = try TestHarness()
        let users = Users(database: harness.database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        let alice = try users.create(email: "alice@example.com", role: .operator, password: TestHarness.password)
        let app = try harness.database.environment.write { txn in
            try harness.database.accounts.put(txn, 10, Account(id: 10, ownerUserID: alice.id, voximplantAccountID: "1", name: "A"))
            let app = Application(id: 20, accountID: 10, name: "Support", elevenLabsAgentID: "agent", phoneNumber: "+74950000000")
            try harness.database.applications.put(txn, app.id, app)
            return app
        }
        try CallStore(database: harness.database).upsert(calls(alice, app, harness.clock.now()))
        harness.login(email: "alice@example.com")
        return (harness, alice)
    }

    static func call(_ owner: User, _ app: Application, _ session: UInt64, _ at: Date, from: String = "+79991234567") -> Call {
        Call(ownerUserID: owner.id, accountID: app.accountID, applicationID: app.id, voximplantSessionID: session,
             direction: .inbound, fromNumber: from, toNumber: "+74950000000", startedAt: at, status: .answered)
    }

    @Test func pagingCursorsAtTheLimitsAreA400NotATrap() throws {
        let (harness, _) = try harnessWithCalls { owner, app, now in (1...3).map { Self.call(owner, app, $0, now - Double($0)) } }
        let max = String(UInt64.max, radix: 36)
        for cursor in ["\(max)-\(max)", "\(max)-1", "1-\(max)", "zzzzzzzzzzzzzz-1", "-", "1-", "-1", "1-2-3", "%ff", ""] {
            for name in ["before", "after"] {
                let response = harness.get("/calls?\(name)=\(cursor)")
                #expect(response.status == .badRequest, "\(name)=\(cursor)")
                #expect(harness.body(response).contains("paging link is not valid"), "\(name)=\(cursor)")
            }
        }
        // A real cursor still pages.
        let first = harness.body(harness.get("/calls?size=25"))
        #expect(first.contains("3 calls<"))
    }

    @Test func numberSearchesNeedThreeDigits() throws {
        let (harness, _) = try harnessWithCalls()
        for number in ["7", "79", "+7", "(9)", "a1b"] {
            let response = harness.get("/calls?number=\(number.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(response.status == .badRequest, "\(number)")
            #expect(harness.body(response).contains("at least 3 digits"))
        }
        #expect(harness.get("/calls?number=799").status == .ok)
        #expect(harness.get("/calls?number=" + String(repeating: "9", count: 40)).status == .badRequest)
    }

    @Test func datesOutsideTheYearsACallCanHaveAreRefused() throws {
        let (harness, _) = try harnessWithCalls()
        for day in ["0001-01-01", "1969-12-31", "9999-12-31", "2300-01-01"] {
            #expect(harness.get("/calls?from=\(day)").status == .badRequest, "\(day)")
            #expect(harness.get("/statistics?from=\(day)&to=\(day)").status == .badRequest, "\(day)")
        }
    }

    /// The export read as a spreadsheet in a ru-RU locale would read it: `;` as the separator.
    /// No field of ours may split into cells there, and none may start a formula in either.
    @Test func csvExportIsInertInSpreadsheets() throws {
        let hostile = ["=1+1", "+7 999 cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "a;b", "a,b", "say \"hi\"", "x\ny",
                       "x;=HYPERLINK(1)", "y,@cmd", "+79991234567"]
        let (harness, _) = try harnessWithCalls { owner, app, now in
            hostile.enumerated().map { Self.call(owner, app, UInt64($0.offset + 1), now - Double($0.offset), from: $0.element) }
        }
        let csv = harness.body(harness.get("/calls/export.csv"))
        let rows = Self.parseCSV(csv, separator: UInt8(ascii: ","))
        #expect(rows.count == hostile.count + 1)
        #expect(rows.allSatisfy { $0.count == rows[0].count })
        // Read with ";", as a ru-RU spreadsheet does, cells start wherever a ";" stands.
        for separator in [UInt8(ascii: ","), UInt8(ascii: ";")] {
            for cell in Self.parseCSV(csv, separator: separator).joined() {
                #expect(!["=", "+", "-", "@", "\t", "\r"].contains(cell.first.map(String.init) ?? "") || Self.isE164(cell),
                        "\(Character(UnicodeScalar(separator))): \(cell.debugDescription)")
            }
        }
        let fromColumn = rows.dropFirst().map { $0[3] }
        #expect(fromColumn.contains("'=1+1") && fromColumn.contains("'\tTAB") && fromColumn.contains("'\rCR"))
        #expect(fromColumn.contains("a;b") && fromColumn.contains("say \"hi\"") && fromColumn.contains("x\ny"))
        #expect(fromColumn.contains("x;'=HYPERLINK(1)") && fromColumn.contains("+79991234567"))
    }

    @Test func oneExportAtATimePerUser() throws {
        let (harness, alice) = try harnessWithCalls()
        let held = try #require(harness.app.site.exports.take(alice.id))
        #expect(harness.get("/calls/export.csv").status == .tooManyRequests)
        held.release()
        #expect(harness.get("/calls/export.csv").status == .ok)
        #expect(harness.get("/calls/export.csv").status == .ok)  // the last one freed its slot
    }

    static func isE164(_ text: String) -> Bool { text.hasPrefix("+") && text.dropFirst().allSatisfy(\.isNumber) }

    /// RFC 4180, with the given separator.
    static func parseCSV(_ text: String, separator: UInt8) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field: [UInt8] = []
        var quoted = false, index = 0
        let bytes = Array(text.utf8)
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\"") { field.append(byte); index += 1 } else { quoted = false }
                } else { field.append(byte) }
            } else if byte == UInt8(ascii: "\"") && field.isEmpty {
                quoted = true
            } else if byte == separator {
                row.append(String(decoding: field, as: UTF8.self)); field = []
            } else if byte == UInt8(ascii: "\r") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n") {
                row.append(String(decoding: field, as: UTF8.self)); field = []
                rows.append(row); row = []
                index += 1
            } else { field.append(byte) }
            index += 1
        }
        if !field.isEmpty || !row.isEmpty { row.append(String(decoding: field, as: UTF8.self)); rows.append(row) }
        return rows
    }
}

/// Issue 12, section 3: an archived recording's type comes from its bytes, from a fixed list.
@Suite struct AudioSniffingTests {
    func sniff(_ bytes: [UInt8]) throws -> String? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sniff-\(UUID())").path
        defer { unlink(path) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return AudioFormat.sniff(path: path)?.contentType
    }

    @Test func knownFormatsAreRecognised() throws {
        #expect(try sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8)) == "audio/wav")
        #expect(try sniff(Array("ID3\u{3}\u{0}".utf8)) == "audio/mpeg")
        #expect(try sniff([0xFF, 0xFB, 0x90, 0x64, 0, 0]) == "audio/mpeg")
        #expect(try sniff(Array("OggS\u{0}\u{2}".utf8)) == "audio/ogg")
        #expect(try sniff(Array("fLaC\u{0}\u{0}\u{0}\"".utf8)) == "audio/flac")
        #expect(try sniff([0, 0, 0, 0x20] + Array("ftypM4A ".utf8)) == "audio/mp4")
        #expect(try sniff([0x1A, 0x45, 0xDF, 0xA3, 0x9F]) == "audio/webm")
    }

    /// Recordings archived before types came from the bytes kept the source's spelling.
    @Test func storedTypesOfEveryAgeHaveTheirExtension() {
        #expect(AudioFormat.allCases.allSatisfy { AudioFormat(contentType: $0.contentType) == $0 })
        #expect(AudioFormat(contentType: "audio/x-wav").fileExtension == "wav")
        #expect(AudioFormat(contentType: "audio/x-m4a").fileExtension == "m4a")
        #expect(AudioFormat(contentType: "audio/mpeg").fileExtension == "mp3")
    }

    @Test func anythingElseIsNotAudio() throws {
        for text in ["<html><script>alert(1)</script>", "RIFF\u{0}\u{0}\u{0}\u{0}AVI ", "%PDF-1.7", "{\"error\":1}", ""] {
            #expect(try sniff(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(try sniff([0xFF, 0xE1, 0x00]) == nil)  // sync bits with layer 00 (reserved) is not MP3
    }
}

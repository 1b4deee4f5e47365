import Foundation
import Integrations
import Testing
@testable import VoxServices

/// Paging GetCallHistory by time (its offset stops at 10,000): what the next page asks for.
@Suite struct PagingWindowTests {
    func sessions(_ ids: ClosedRange<UInt64>, at seconds: (UInt64) -> Int) throws -> [VoximplantCallSession] {
        let base = Date(timeIntervalSince1970: 1_790_000_000)
        let items = ids.map { id in
            #"{"call_session_history_id": \#(id), "start_date": "\#(VoximplantTime.format(base + Double(seconds(id))))"}"#
        }
        return try JSONDecoder().decode([VoximplantCallSession].self, from: Data("[\(items.joined(separator: ","))]".utf8))
    }

    @Test func theNextPageStartsAtTheNewestSecondAndSkipsWhatItSaw() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        var window = CallSync.PagingWindow(from: start)
        // Ids 1…1000, three a second: the last second (333) holds id 999 and 1000, more may follow.
        let first = try sessions(1...1000) { Int($0 / 3) }
        try window.advance(past: first)
        #expect(window.from == start + 333 && window.offset == 0)
        let second = try sessions(999...1998) { Int($0 / 3) }
        #expect(window.unseen(second).map(\.callSessionHistoryID).first == 1001)
        #expect(window.unseen(second).count == 998)
    }

    @Test func aCrowdedSecondPagesByOffsetUpToTheCap() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        var window = CallSync.PagingWindow(from: start)
        for page in 0..<10 {
            let ids = UInt64(page * 1000 + 1)...UInt64(page * 1000 + 1000)
            try window.advance(past: try sessions(ids) { _ in 0 })
            #expect(window.from == start && window.offset == (page + 1) * 1000)
        }
        // An 11th full page in the same second would need offset 11,000: refused, with a message.
        #expect(throws: VoximplantError.self) { try window.advance(past: try sessions(10_001...11_000) { _ in 0 }) }
    }
}

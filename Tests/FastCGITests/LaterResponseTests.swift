import Foundation
import Testing
@testable import FastCGI

@Suite struct LaterResponseTests {
    @Test func readyBeforeOrAfterCompletionAndOnlyTheFirstCounts() {
        let early = LaterResponse()
        let told = Counter()
        early.whenReady { told.add() }
        #expect(told.value == 0 && early.response == nil)
        early.complete(.text("first"))
        early.complete(.text("second"))
        #expect(told.value == 1)
        #expect(String(decoding: (try? early.response?.collectBody()) ?? [], as: UTF8.self) == "first")

        let late = LaterResponse()
        late.complete(.text("done", status: .accepted))
        late.whenReady { told.add() }
        #expect(told.value == 2)
        #expect(late.wait().status == .accepted)
    }

    /// Changes run when the response is read, in order, on the reader's thread.
    @Test func mapAppliesChangesWhenRead() {
        let original = LaterResponse()
        let reads = Counter()
        let mapped = Response.later(original)
            .amended { $0.addHeader("X-One", "1") }
            .amended { response in
                reads.add()
                response.addHeader("X-Two", response.header("X-One") ?? "missing")
            }
        original.complete(.text("body"))
        #expect(reads.value == 0)
        let settled = mapped.settled()
        #expect(settled.header("X-One") == "1" && settled.header("X-Two") == "1")
        #expect(reads.value == 1)
    }
}

@Suite struct WorkQueueTests {
    /// Every pushed item is taken exactly once however threads sleep and wake, and closing
    /// lets every thread go once the queue is drained.
    @Test func everyItemIsTakenOnceAndCloseReleasesEveryThread() {
        let queue = WorkQueue()
        let taken = Counter()
        let threads = (0..<8).map { _ in
            Thread {
                while let work = queue.pop() {
                    if case .send = work { taken.add() }
                }
            }
        }
        threads.forEach { $0.start() }
        let later = LaterResponse()
        let connection = Connection(fd: -1, isUnixSocket: true)
        for round in 0..<50 {
            for _ in 0..<(round % 7 + 1) * 100 { queue.push(.send(connection, later)) }
            if round % 10 == 0 { usleep(1_000) }
        }
        let expected = (0..<50).reduce(0) { $0 + ($1 % 7 + 1) * 100 }
        let deadline = Date().addingTimeInterval(10)
        while taken.value < expected && Date() < deadline { usleep(1_000) }
        #expect(taken.value == expected)
        queue.close()
        while threads.contains(where: { $0.isExecuting }) && Date() < deadline { usleep(1_000) }
        #expect(!threads.contains { $0.isExecuting })
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}

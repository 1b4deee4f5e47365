import Foundation
import Testing
@testable import FastCGI

/// The real server on a unix socket, spoken to as nginx speaks to it.
@Suite struct ServerTests {
    /// Two large bodies in hand: a third is answered 503 with Retry-After, unread, and its
    /// connection closed; small bodies still pass; once one finishes, large ones pass again.
    @Test func largeBodiesBeyondTheCapAreRefusedUnread() throws {
        let gate = Gate()
        let server = try TestServer { request in
            if request.path == "/slow" { gate.enterAndWait() }
            return .text("read \(request.body.count) bytes")
        } configure: { configuration in
            configuration.largeBodyThreshold = 4096
            configuration.maxConcurrentLargeBodies = 2
        }
        defer {
            gate.open()
            server.stop()
        }
        let large = [UInt8](repeating: 7, count: 16 * 1024)
        let first = try server.client(), second = try server.client()
        try first.send(path: "/slow", body: large)
        try second.send(path: "/slow", body: large)
        try #require(gate.waitForEntered(2), "both large requests are in their handler")

        let third = try server.client()
        try third.send(path: "/fast", body: large)
        let refused = try third.answer()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "5")
        #expect(refused.body.contains("Too many large request bodies"))
        #expect(third.isClosedByServer(), "its unread body must not be taken for a next request")

        let small = try server.client()
        try small.send(path: "/fast", body: [UInt8](repeating: 1, count: 4096))
        #expect(try small.answer().body == "read 4096 bytes")

        gate.open()
        #expect(try first.answer().body == "read 16384 bytes")
        #expect(try second.answer().body == "read 16384 bytes")
        let later = try server.client()
        try later.send(path: "/fast", body: large)
        #expect(try later.answer().body == "read 16384 bytes", "the slots are free again")
    }

    /// `stop` removes the socket at once, closes idle kept connections, lets the request in
    /// flight finish and answers it, closes its connection after the answer, and returns
    /// only once every thread has ended.
    @Test func stopFinishesTheRequestInFlightAndTakesNoNewOne() throws {
        let gate = Gate()
        let server = try TestServer { request in
            if request.path == "/slow" { gate.enterAndWait() }
            return .text("done")
        }
        defer { gate.open() }
        let idle = try server.client()
        try idle.send(path: "/fast")
        #expect(try idle.answer().body == "done")
        let busy = try server.client()
        try busy.send(path: "/slow")
        try #require(gate.waitForEntered(1))

        let stopped = Gate()
        let finished = Flag()
        Thread.detachNewThread {
            finished.set(server.server.stop(gracePeriod: 10))
            stopped.open()
        }
        #expect(idle.isClosedByServer(), "an idle kept connection is closed at once")
        #expect(!FileManager.default.fileExists(atPath: server.socketPath), "no new connection can reach it")
        #expect(throws: FastCGIClient.Failure.self) { try FastCGIClient(socketPath: server.socketPath) }
        #expect(!finished.isSet, "stop waits for the request in flight")

        gate.open()
        #expect(try busy.answer().body == "done")
        #expect(busy.isClosedByServer())
        #expect(stopped.waitForOpen(), "stop returns once the request is answered")
        #expect(finished.value == true)
    }
}

/// A server on a temporary unix socket.
final class TestServer: @unchecked Sendable {
    let server: FastCGIServer
    let socketPath: String

    init(handler: @escaping FastCGIServer.Handler, configure: (inout FastCGIServer.Configuration) -> Void = { _ in }) throws {
        socketPath = FileManager.default.temporaryDirectory.appendingPathComponent("fcgi-\(UUID().uuidString.prefix(8)).sock").path
        var configuration = FastCGIServer.Configuration()
        configuration.socketPath = socketPath
        configuration.threads = 4
        configure(&configuration)
        server = FastCGIServer(configuration: configuration, handler: handler)
        try server.start()
    }

    func client() throws -> FastCGIClient { try FastCGIClient(socketPath: socketPath) }

    func stop() { server.stop(gracePeriod: 5) }
}

/// Handlers wait at the gate until the test opens it; the test learns how many are waiting.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var entered = 0
    private var isOpen = false

    func enterAndWait() {
        condition.lock()
        entered += 1
        condition.broadcast()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    func waitForEntered(_ count: Int, timeout: TimeInterval = 10) -> Bool {
        wait(timeout) { self.entered >= count }
    }

    func waitForOpen(timeout: TimeInterval = 10) -> Bool {
        wait(timeout) { self.isOpen }
    }

    private func wait(_ timeout: TimeInterval, until done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !done() && Date() < deadline { _ = condition.wait(until: deadline) }
        return done()
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool?

    func set(_ value: Bool) {
        lock.lock()
        stored = value
        lock.unlock()
    }

    var value: Bool? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    var isSet: Bool { value != nil }
}

import Foundation
import KVStore
@testable import VoxCore

/// A database with two operators (each with an account and an application) and an admin.
final class CallFixture {
    let path: String
    let database: Database
    let store: CallStore
    let queries: CallQueries
    var admin: User!
    var alice: User!
    var bob: User!
    var aliceApp: Application!
    var bobApp: Application!
    private var nextSession: UInt64 = 1_000

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("calls-\(UUID())").path
        database = try Database(path: path)
        store = CallStore(database: database)
        queries = CallQueries(database: database)
        let users = Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        admin = try users.create(email: "admin@example.com", role: .admin, password: "admin password")
        alice = try users.create(email: "alice@example.com", role: .operator, password: "alice password")
        bob = try users.create(email: "bob@example.com", role: .operator, password: "bob password 1")
        (aliceApp, bobApp) = try database.environment.write { txn throws in
            let a = Account(id: 1, ownerUserID: alice.id, voximplantAccountID: "100", name: "Alice Co", currency: "RUB")
            let b = Account(id: 2, ownerUserID: bob.id, voximplantAccountID: "200", name: "Bob Ltd")
            try database.accounts.put(txn, a.id, a)
            try database.accounts.put(txn, b.id, b)
            let appA = Application(id: 1, accountID: 1, name: "Support line", elevenLabsAgentID: "agent_a", phoneNumber: "+74951234567")
            let appB = Application(id: 2, accountID: 2, name: "Sales", elevenLabsAgentID: "agent_b", phoneNumber: "+12025550100")
            try database.applications.put(txn, appA.id, appA)
            try database.applications.put(txn, appB.id, appB)
            return (appA, appB)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func call(owner: User? = nil, at start: Date, from: String = "+7 (999) 123-45-67", to: String = "+7 495 123-45-67",
              status: CallStatus = .answered, duration: Int = 60, cost: Int64 = 100_000, session: UInt64? = nil) -> Call {
        let owner = owner ?? alice!
        let app = owner.id == bob.id ? bobApp! : aliceApp!
        nextSession += 1
        return Call(ownerUserID: owner.id, accountID: app.accountID, applicationID: app.id,
                    voximplantSessionID: session ?? nextSession, direction: .inbound, fromNumber: from, toNumber: to,
                    startedAt: start, durationSeconds: duration, cost: Money(micros: cost, currency: "RUB"), status: status)
    }

    @discardableResult
    func insert(_ calls: [Call]) throws -> [CallStore.UpsertResult] { try store.upsert(calls) }

    func stats(_ scope: UInt64, app: UInt64 = 0) throws -> CallStatsBucket {
        try database.environment.read { txn in try database.callStats.get(txn, (scope, app, Quarter.allTime)) ?? CallStatsBucket() }
    }
}

let base = Date(timeIntervalSince1970: 1_790_000_000)

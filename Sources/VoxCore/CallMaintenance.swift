import Foundation
import KVStore

/// Calls whose end event never came (the scenario crashed, the network dropped it) would stay
/// "in progress" forever. After `timeout` they are closed as failed with a reason that says so;
/// a later sync or event with the real outcome still overwrites that.
public struct CallMaintenance: Sendable {
    let database: Database
    let clock: any Clock

    public init(database: Database, clock: any Clock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    public static let timedOutReason = "No end event received (timed out)"

    @discardableResult
    public func closeStale(timeout: TimeInterval) throws -> Int {
        let cutoff = Time.micros(clock.now() - timeout)
        let store = CallStore(database: database)
        return try database.environment.write { txn in
            var stale: [UInt64] = []
            for scope in try database.callScopes(txn) {
                try database.walkCallIndex(
                    txn, scope: scope, facet: Facet.status(.inProgress), from: (0, 0), below: (cutoff, 0), direction: .forward
                ) { id, _ in
                    stale.append(id)
                    return true
                }
            }
            for id in stale {
                try store.update(id: id, in: txn) { call in
                    call.status = .failed
                    call.finishReason = CallMaintenance.timedOutReason
                }
            }
            return stale.count
        }
    }
}

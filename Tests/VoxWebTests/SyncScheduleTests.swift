import Foundation
import Testing
import VoxCore
@testable import VoxServices

/// The schedule syncs every active account that can sign in, however it signs in.
@Suite struct SyncScheduleTests {
    @Test func accountsWithOnlyAServiceAccountAreSyncedToo() throws {
        let harness = try TestHarness()
        try harness.database.environment.write { txn in
            var file = Account(id: 1, ownerUserID: 1, voximplantAccountID: "11", name: "file only")
            file.serviceAccountSealed = [1, 2, 3]
            let key = Account(id: 2, ownerUserID: 1, voximplantAccountID: "12", name: "key only", apiKeySealed: [4])
            let none = Account(id: 3, ownerUserID: 1, voximplantAccountID: "13", name: "nothing saved")
            var disabled = Account(id: 4, ownerUserID: 1, voximplantAccountID: "14", name: "disabled", active: false)
            disabled.serviceAccountSealed = [5]
            for account in [file, key, none, disabled] { try harness.database.accounts.put(txn, account.id, account) }
        }
        try harness.services.sync.enqueueAll()
        let synced = try harness.services.jobs.pending().filter { $0.kind == JobKind.syncAccount.rawValue }.map(\.payload).sorted()
        #expect(synced == ["1", "2"])
    }
}

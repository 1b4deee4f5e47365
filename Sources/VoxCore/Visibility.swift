import Foundation
import KVStore

/// What a viewer may see, decided here and nowhere else: an admin sees every tenant's
/// records, anyone else only the records they own. Setup lists, call pages, counts, exports,
/// statistics and recordings all ask this one rule.
public struct Visibility: Sendable {
    public let viewer: User

    public init(_ viewer: User) { self.viewer = viewer }

    public var seesEveryTenant: Bool { viewer.isAdmin }

    /// Whether a record owned by `owner` is visible.
    public func allows(owner: UInt64) -> Bool { seesEveryTenant || owner == viewer.id }

    /// The statistics scope to read: 0 holds every tenant's totals, else the viewer's own.
    public var statisticsScope: UInt64 { seesEveryTenant ? 0 : viewer.id }

    /// The call-index scopes to read (each owner's calls are indexed under the owner's id).
    func indexScopes(_ database: Database, _ txn: ReadTransaction) throws -> [UInt64] {
        seesEveryTenant ? try database.callScopes(txn) : [viewer.id]
    }
}

extension User {
    public var visibility: Visibility { Visibility(self) }
}

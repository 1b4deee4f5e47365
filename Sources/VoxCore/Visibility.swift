import Foundation
import KVStore

/// What a user may see, decided here and nowhere else: an admin sees every tenant's records,
/// an operator the records they own, a viewer those of the operators assigned to them. Setup
/// lists, call pages, counts, exports, statistics and recordings all ask this one rule.
public struct Visibility: Sendable {
    public let viewer: User

    public init(_ viewer: User) { self.viewer = viewer }

    public var seesEveryTenant: Bool { viewer.isAdmin }

    /// The owners whose records are visible, when not every tenant's.
    public var owners: [UInt64] {
        switch viewer.role {
        case .admin, .operator: [viewer.id]
        case .viewer: Array(Set(viewer.watches ?? [])).sorted()
        }
    }

    /// Whether a record owned by `owner` is visible.
    public func allows(owner: UInt64) -> Bool { seesEveryTenant || owners.contains(owner) }

    /// The statistics scopes to read and add up: 0 holds every tenant's totals, else each
    /// visible owner's own.
    public var statisticsScopes: [UInt64] { seesEveryTenant ? [0] : owners }

    /// The call-index scopes to read (each owner's calls are indexed under the owner's id).
    func indexScopes(_ database: Database, _ txn: ReadTransaction) throws -> [UInt64] {
        seesEveryTenant ? try database.callScopes(txn) : owners
    }
}

extension User {
    public var visibility: Visibility { Visibility(self) }
}

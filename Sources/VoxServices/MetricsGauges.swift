import Essentials
import Foundation
import Metrics
import VoxCore

/// The gauges that describe state rather than events, read from LMDB and the process right
/// before each scrape: job queues by kind, sync lag per account, the LMDB map and readers,
/// resident memory. (Counters and histograms are recorded where their events happen.)
public struct MetricsGauges: Sendable {
    let database: Database
    let clock: any Clock

    public init(database: Database, clock: any Clock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    public func update() throws {
        var pending: [String: Int] = [:], failed: [String: Int] = [:]
        for kind in JobKind.all { pending[kind.rawValue] = 0; failed[kind.rawValue] = 0 }
        let now = clock.now()
        try database.environment.read { txn in
            // Only kinds this program knows become labels: a stored kind is not free text for a label.
            try database.jobs.scan(txn) { _, job in
                if pending[job.kind] != nil { pending[job.kind]! += 1 }
                return true
            }
            try database.failedJobs.scan(txn) { _, job in
                if failed[job.kind] != nil { failed[job.kind]! += 1 }
                return true
            }
            try database.syncStates.scan(txn) { accountID, state in
                let account = [("account", String(accountID))]
                if let checkpoint = state.checkpoint {
                    Gauge(label: MetricName.syncLag, dimensions: account).record(max(0, now.timeIntervalSince(checkpoint)))
                }
                if state.lastError == nil, let finished = state.finishedAt {
                    Gauge(label: MetricName.syncLastSuccess, dimensions: account).record(finished.timeIntervalSince1970)
                }
                return true
            }
        }
        for (kind, count) in pending { Gauge(label: MetricName.jobs, dimensions: [("kind", kind), ("state", "pending")]).record(count) }
        for (kind, count) in failed { Gauge(label: MetricName.jobs, dimensions: [("kind", kind), ("state", "failed")]).record(count) }
        let usage = database.environment.usage
        Gauge(label: MetricName.lmdbMapSize).record(usage.mapSize)
        Gauge(label: MetricName.lmdbMapUsed).record(usage.usedBytes)
        Gauge(label: MetricName.lmdbReaders).record(usage.readersInUse)
        if let rss = MetricsGauges.residentBytes() { Gauge(label: MetricName.residentMemory).record(rss) }
    }

    /// `/proc/self/statm`'s second field (resident pages) times the page size.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .ascii) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import Foundation

/// How often backups are taken and which are kept: the newest of each of the last `daily`
/// days that have one, and the newest of each of the last `weekly` ISO weeks (in UTC), the
/// usual grandfather-father-son rotation. The newest backup is always kept.
public struct BackupPolicy: Sendable, Equatable {
    /// Hours between scheduled backups; 0 turns the schedule off.
    public var everyHours: Int
    public var daily: Int
    public var weekly: Int

    public init(everyHours: Int = 24, daily: Int = 7, weekly: Int = 4) {
        self.everyHours = everyHours
        self.daily = daily
        self.weekly = weekly
    }

    /// The names to keep of `backups` (name, time).
    public func kept(_ backups: [(name: String, at: Date)]) -> Set<String> {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = .gmt
        let newestFirst = backups.sorted { $0.at > $1.at }
        var keep = Set(newestFirst.prefix(1).map(\.name))
        func newestPer(_ period: (Date) -> String, count: Int) {
            var seen = Set<String>()
            for backup in newestFirst {
                let bucket = period(backup.at)
                guard !seen.contains(bucket) else { continue }
                guard seen.count < count else { break }
                seen.insert(bucket)
                keep.insert(backup.name)
            }
        }
        newestPer({ date in
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return "\(parts.year!)-\(parts.month!)-\(parts.day!)"
        }, count: daily)
        newestPer({ date in
            let parts = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            return "\(parts.yearForWeekOfYear!)-W\(parts.weekOfYear!)"
        }, count: weekly)
        return keep
    }

    /// Whether a scheduled backup is due, given the last run that made one.
    public func isDue(lastSuccess: Date?, now: Date) -> Bool {
        guard everyHours > 0 else { return false }
        guard let lastSuccess else { return true }
        return now.timeIntervalSince(lastSuccess) >= Double(everyHours) * 3600
    }
}

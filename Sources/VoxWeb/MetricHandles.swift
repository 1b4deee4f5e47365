import Foundation
import Metrics

/// Counters and timers by their labels, made once each: making a swift-metrics handle asks the
/// backend's registry (a lock and a lookup) every time, which per request cost about 4% of
/// webhook ingest (`make bench`, metrics on and off). The labels are ours (route patterns,
/// status codes, event types), so this holds a bounded set.
final class MetricHandles: @unchecked Sendable {
    static let shared = MetricHandles()
    private let lock = NSLock()
    private var counters: [[String]: Counter] = [:]
    private var timers: [[String]: Metrics.Timer] = [:]

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = [label] + dimensions.flatMap { [$0.0, $0.1] }
        lock.lock()
        defer { lock.unlock() }
        if let counter = counters[key] { return counter }
        let counter = Counter(label: label, dimensions: dimensions)
        counters[key] = counter
        return counter
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
        let key = [label] + dimensions.flatMap { [$0.0, $0.1] }
        lock.lock()
        defer { lock.unlock() }
        if let timer = timers[key] { return timer }
        let timer = Metrics.Timer(label: label, dimensions: dimensions)
        timers[key] = timer
        return timer
    }
}

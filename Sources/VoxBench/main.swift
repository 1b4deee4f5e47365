import Foundation
import KVStore
import VoxCore

// voxbench DATA_DIR CALLS RUNS OUT_JSON
// voxbench s3-upload ...   (see UploadBench.swift)
// voxbench jwt KEY_FILE COUNT   (see TokenBench.swift)
// voxbench search DATA_DIR TRANSCRIPTS RUNS OUT_JSON   (see SearchBench.swift)
//
// Seeds DATA_DIR with CALLS demo calls for one operator (once; a marker file caches it),
// exports them as CSV for the SQLite peer (bench/sqlite_peer.py), measures ingest on a
// scratch environment, and times each Call History query RUNS times in-process (server-side
// time: what a request spends in the query, without HTTP). Writes the figures to OUT_JSON.


let arguments = CommandLine.arguments
if arguments.count > 1 && arguments[1] == "jwt" {
    try tokenBenchmark(Array(arguments.dropFirst(2)))
    exit(0)
}
if arguments.count > 1 && arguments[1] == "search" {
    try searchBenchmark(Array(arguments.dropFirst(2)))
    exit(0)
}
if arguments.count > 1 && arguments[1] == "s3-upload" {
    try uploadBenchmark(Array(arguments.dropFirst(2)))
    exit(0)
}
guard arguments.count == 5, let callCount = Int(arguments[2]), let runs = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: voxbench DATA_DIR CALLS RUNS OUT_JSON\n".utf8))
    exit(2)
}
let dataDirectory = arguments[1]
let output = arguments[4]
let end = Date(timeIntervalSince1970: 1_790_000_000)  // fixed, so the cached data set never moves
let days = 365

func elapsedMs(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
}

func percentile(_ samples: [Double], _ p: Double) -> Double {
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

var results: [[String: Any]] = []

// MARK: Ingest: a scratch environment, batches of 1,000, durable commits.
if ProcessInfo.processInfo.environment["BENCH_ONLY"] == nil {
    let scratch = "\(dataDirectory)/ingest-scratch"
    try? FileManager.default.removeItem(atPath: scratch)
    let database = try Database(path: scratch)
    let owner = try Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
        .create(email: "ingest@example.com", role: .operator, password: "ingest password")
    var demo = DemoData(database: database, seed: 1)
    let count = min(callCount, 200_000)
    let ms = try elapsedMs { try demo.seed(owner: owner, calls: count, days: 30, end: end, batch: 1_000) }
    let rate = Double(count) / (ms / 1000)
    say(String(format: "ingest: %d calls in %.1f s = %.0f calls/s (batches of 1,000, durable)", count, ms / 1000, rate))
    results.append(["name": "ingest_calls_per_second", "unit": "calls/s", "value": rate.rounded()])
    try? FileManager.default.removeItem(atPath: scratch)
}

// MARK: The data set, seeded once.
let lmdbPath = "\(dataDirectory)/lmdb"
let marker = "\(dataDirectory)/seeded-\(callCount)"
var options = Environment.Options()
options.mapSize = 4 << 30
let database = try Database(path: lmdbPath, options: options)
let users = Users(database: database, hasher: PasswordHasher(logN: 4, r: 1, p: 1))
if !FileManager.default.fileExists(atPath: marker) {
    say("seeding \(callCount) calls into \(lmdbPath) (once; cached) …")
    let owner = try users.create(email: "bench@example.com", role: .operator, password: "bench password")
    // A second tenant, so that scoping is real: its calls share the indexes.
    let other = try users.create(email: "other@example.com", role: .operator, password: "other password")
    var demo = DemoData(database: database, seed: 2026)
    let ms = try elapsedMs {
        try demo.seed(owner: owner, calls: callCount, days: days, end: end) { done in
            if done % 200_000 == 0 { say("  \(done)") }
        }
        var otherDemo = DemoData(database: database, seed: 7)
        try otherDemo.seed(owner: other, calls: callCount / 10, days: days, end: end)
    }
    say(String(format: "seeded in %.1f s", ms / 1000))
    // The same calls for the SQLite peer.
    let csv = FileManager.default.createFile(atPath: "\(dataDirectory)/calls.csv", contents: nil)
    precondition(csv)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dataDirectory)/calls.csv"))
    var buffer = "id,owner,start,status,app,from_digits,to_digits,duration,cost\n"
    try database.environment.read { txn in
        try database.calls.scan(txn) { _, call in
            buffer += "\(call.id),\(call.ownerUserID),\(call.startMicros),\(call.status.rawValue),\(call.applicationID),\(call.fromDigits),\(call.toDigits),\(call.durationSeconds),\(call.cost?.micros ?? 0)\n"
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                buffer = ""
            }
            return true
        }
    }
    handle.write(Data(buffer.utf8))
    try handle.close()
    _ = FileManager.default.createFile(atPath: marker, contents: nil)
}

guard let viewer = try users.find(email: "bench@example.com") else { fatalError("bench user missing") }
let queries = CallQueries(database: database)
let statistics = StatisticsQueries(database: database)
let weekFrom = end - 7 * 86_400
// A number that exists: the last four digits of the newest call's remote number.
let newest = try queries.page(viewer: viewer, filter: CallFilter(), limit: 1).calls[0]
let lastFour = String((newest.direction == .inbound ? newest.fromDigits : newest.toDigits).suffix(4))

let cases: [(String, String, () throws -> Void)] = [
    ("a", "first page, no filter", { _ = try queries.page(viewer: viewer, filter: CallFilter()) }),
    ("b", "first page, 7-day range", { _ = try queries.page(viewer: viewer, filter: CallFilter(from: weekFrom, to: end)) }),
    ("c", "first page, status = failed", { _ = try queries.page(viewer: viewer, filter: CallFilter(statuses: [.failed])) }),
    ("d", "first page, last 4 digits \(lastFour)", { _ = try queries.page(viewer: viewer, filter: CallFilter(number: lastFour)) }),
    ("e", "first page, 7 days + answered + prefix 7916", {
        _ = try queries.page(viewer: viewer, filter: CallFilter(from: weekFrom, to: end, statuses: [.answered], number: "7916"))
    }),
    ("f", "statistics, 90 days", {
        _ = try statistics.report(viewer: viewer, firstDay: end - 89 * 86_400, lastDay: end - 1, timeZone: .gmt)
    }),
    ("g", "exact count, 7-day range", { _ = try queries.count(viewer: viewer, filter: CallFilter(from: weekFrom, to: end)) }),
]
var parameters: [String: Any] = ["week_from_micros": Time.micros(weekFrom), "end_micros": Time.micros(end),
                                 "owner": viewer.id, "last_four": lastFour, "prefix": "7916", "runs": runs]
// BENCH_ONLY=f runs one case (for profiling).
let only = ProcessInfo.processInfo.environment["BENCH_ONLY"]
for (id, label, run) in cases where only == nil || only == id {
    for _ in 0..<10 { try run() }  // warm the page cache
    var samples: [Double] = []
    for _ in 0..<runs { samples.append(try elapsedMs(run)) }
    let p50 = percentile(samples, 0.5), p99 = percentile(samples, 0.99)
    say(String(format: "(%@) %-44@ p50 %7.3f ms   p99 %7.3f ms", id, label, p50, p99))
    results.append(["name": "query_\(id)_p50", "unit": "ms", "value": p50, "label": label])
    results.append(["name": "query_\(id)_p99", "unit": "ms", "value": p99, "label": label])
}
let json: [String: Any] = ["results": results, "parameters": parameters]
try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: output))
parameters = [:]

/// Unbuffered, so progress shows as it happens, also through a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

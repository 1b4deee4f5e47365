import Foundation
import Logging
import ObjectStore

/// `voxbench s3-upload ENDPOINT BUCKET ACCESS_KEY SECRET_KEY FILE RUNS`
///
/// Uploads FILE to the bucket RUNS times with `S3Store` (the worker's code and default
/// settings: 8 MiB parts, 4 in flight), and prints one JSON line: the seconds of each run and
/// this process's resident memory before and at its peak (VmHWM, reset before the first run).
func uploadBenchmark(_ arguments: [String]) throws {
    guard arguments.count == 6, let runs = Int(arguments[5]) else {
        FileHandle.standardError.write(Data("usage: voxbench s3-upload ENDPOINT BUCKET ACCESS_KEY SECRET_KEY FILE RUNS\n".utf8))
        exit(2)
    }
    var configuration = S3Configuration(endpoint: arguments[0], region: "us-east-1", bucket: arguments[1], addressing: .path,
                                        accessKeyID: arguments[2])
    // For tuning experiments only; the benchmark itself runs the defaults.
    let environment = ProcessInfo.processInfo.environment
    if let value = environment["VOXBENCH_S3_CONCURRENCY"].flatMap(Int.init) { configuration.concurrency = value }
    if let value = environment["VOXBENCH_S3_PART_MB"].flatMap(Int64.init) { configuration.partSize = value << 20 }
    let store = S3Store(configuration: configuration,
                        credentials: AWSCredentials(accessKeyID: arguments[2], secretAccessKey: arguments[3]),
                        logger: Logger(label: "voxbench.s3"))
    let file = arguments[4]
    try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    let before = memoryKB("VmRSS")
    var seconds: [Double] = []
    for run in 0..<runs {
        let started = DispatchTime.now().uptimeNanoseconds
        try store.put(ObjectKey("bench/voxfcgi-\(run).bin"), fromFile: file, contentType: "application/octet-stream")
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }
    let result: [String: Any] = ["seconds": seconds, "rss_before_kb": before, "rss_peak_kb": memoryKB("VmHWM")]
    print(String(decoding: try JSONSerialization.data(withJSONObject: result), as: UTF8.self))
}

func memoryKB(_ field: String) -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(whereSeparator: \.isWhitespace)[1]) ?? 0
    }
    return 0
}

import Foundation
import Integrations

/// `voxbench jwt FILE COUNT`: makes COUNT service-account tokens from the key file FILE and
/// prints the time per token. Every Voximplant API call and secure recording download signs
/// one, so this is what service-account sign-in adds to each (bench/jwt_bench.py runs PyJWT
/// on the same key beside it).
func tokenBenchmark(_ arguments: [String]) throws {
    guard arguments.count == 2, let count = Int(arguments[1]), count > 0 else {
        FileHandle.standardError.write(Data("usage: voxbench jwt KEY_FILE COUNT\n".utf8))
        exit(2)
    }
    let account = try VoximplantServiceAccount(json: Array(try Data(contentsOf: URL(fileURLWithPath: arguments[0]))))
    let now = Date()
    _ = try account.token(at: now)  // the first signature warms libcrypto's provider
    let start = DispatchTime.now().uptimeNanoseconds
    var length = 0
    for _ in 0..<count { length &+= try account.token(at: now).utf8.count }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print(String(format: "tokens=%d seconds=%.4f us_per_token=%.1f bytes=%d", count, seconds, seconds / Double(count) * 1e6, length / count))
}

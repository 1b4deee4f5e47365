import Foundation
@testable import KVStore

/// A fresh environment in its own temporary folder, removed when the test ends.
final class TemporaryStore {
    let path: String
    let environment: Environment

    init(mapSize: Int = 64 << 20, maxMapSize: Int = 1 << 40, durable: Bool = false) throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("kvstore-test-\(UUID().uuidString)").path
        var options = Environment.Options()
        options.mapSize = mapSize
        options.maxMapSize = maxMapSize
        options.durable = durable
        environment = try Environment(path: path, options: options)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

struct Note: Codable, Equatable {
    var title: String
    var size: Int
}

struct Boom: Error {}

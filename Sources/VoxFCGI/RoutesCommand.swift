import ArgumentParser
import Foundation
import VoxWeb

/// `voxfcgi routes`: the URL space as the router has it, one JSON object per line. The
/// hostile-input tests read it, so they probe every route there is rather than a hand list.
struct RoutesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "routes", abstract: "List every route (method, pattern, access) as JSON lines.")

    func run() throws {
        for route in Routes.table {
            let line = try JSONSerialization.data(withJSONObject: [
                "method": route.method, "pattern": route.pattern, "access": route.access.rawValue,
            ], options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: line, as: UTF8.self))
        }
    }
}

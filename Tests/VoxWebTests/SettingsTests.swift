import Foundation
import Testing
@testable import VoxWorker

/// A malformed setting is refused at start with the variable's name, never silently replaced.
@Suite struct SettingsTests {
    @Test func defaultsWhenUnsetOrEmpty() throws {
        let settings = try Settings(environment: ["VOXFCGI_THREADS": "", "VOXFCGI_DATA_DIR": "/srv/vox"])
        #expect(settings.threads == 16)
        #expect(settings.socketPath == "/srv/vox/run/voxfcgi.sock")
        #expect(settings.socketMode == 0o660)
    }

    @Test func malformedValuesNameTheirVariable() {
        do {
            _ = try Settings(environment: ["VOXFCGI_THREADS": "abc", "VOXFCGI_SESSION_HOURS": "nan",
                                           "VOXFCGI_SOCKET_MODE": "999", "VOXFCGI_LOG_LEVEL": "loud",
                                           "VOXFCGI_MAP_MAX_MB": "18446744073709551616"])
            Issue.record("accepted")
        } catch {
            let text = String(describing: error)
            for name in ["VOXFCGI_THREADS=abc", "VOXFCGI_SESSION_HOURS=nan", "VOXFCGI_SOCKET_MODE=999", "VOXFCGI_LOG_LEVEL=loud",
                         "VOXFCGI_MAP_MAX_MB"] {
                #expect(text.contains(name), "\(name) in: \(text)")
            }
        }
    }

    @Test func aMalformedAllowListIsAnErrorToo() throws {
        let settings = try Settings(environment: ["VOXFCGI_RECORDING_SOURCES": "ftp://files.example"])
        #expect(throws: SettingsError.self) { try settings.recordingPolicy() }
    }
}

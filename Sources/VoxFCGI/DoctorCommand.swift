import ArgumentParser
import Foundation
import HTTPTransport
import KVStore
import Logging
import VoxCore
import VoxWorker

/// `voxfcgi doctor`: what an operator checks before (and after) going live, each with ok, warn
/// or fail and what to do. It reads; it creates and changes nothing.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the data folder, master key, nginx, the socket, clocks, upstreams and map headroom.")

    @Option(help: "The nginx binary to run `-t` with (skipped when it is not installed).") var nginx = "nginx"
    @Option(help: "An nginx config to test instead of the system's (nginx -t -c FILE).") var nginxConf: String?
    @Flag(help: "Skip the network checks (upstream reachability and clock skew).") var offline = false

    enum Level: String { case ok, warn, fail }

    struct Finding {
        let level: Level
        let check: String
        let said: String
        var todo: String?
    }

    func run() throws {
        let settings = try Settings()
        var findings: [Finding] = []
        findings += Self.dataFolder(settings)
        findings += Self.masterKey(settings)
        findings.append(Self.nginxTest(binary: nginx, conf: nginxConf))
        findings.append(Self.socket(settings.socketPath))
        let lmdb = settings.lmdbDirectory
        if FileManager.default.fileExists(atPath: lmdb + "/data.mdb") {
            let database = try settings.openDatabase()
            findings += Self.headroom(database, settings: settings)
            if !offline { findings += Self.upstreams(database, settings: settings) }
        } else {
            findings.append(Finding(level: .warn, check: "database", said: "no data yet at \(lmdb)",
                                    todo: "start the worker once (or run `voxfcgi first-admin`)"))
        }
        for finding in findings {
            print("\(finding.level.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0)) \(finding.check): \(finding.said)")
            if let todo = finding.todo, finding.level != .ok { print("     → \(todo)") }
        }
        let failed = findings.filter { $0.level == .fail }.count
        let warned = findings.filter { $0.level == .warn }.count
        print("\(findings.count) checks: \(failed) failed, \(warned) warnings")
        if failed > 0 { throw ExitCode(1) }
    }

    // MARK: Files

    static func mode(_ path: String) -> (mode: mode_t, owner: uid_t)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (info.st_mode & 0o7777, info.st_uid)
    }

    static func dataFolder(_ settings: Settings) -> [Finding] {
        let data = settings.dataDirectory
        guard let folder = mode(data) else {
            return [Finding(level: .fail, check: "data folder", said: "\(data) does not exist",
                            todo: "create it for the worker's user: install -d -m 0750 -o voxfcgi -g www-data \(data)")]
        }
        var findings: [Finding] = []
        if folder.mode & 0o002 != 0 {
            findings.append(Finding(level: .fail, check: "data folder", said: "\(data) is writable by every user (mode \(String(folder.mode, radix: 8)))",
                                    todo: "chmod o-rwx \(data)"))
        } else if folder.mode & 0o005 != 0 {
            findings.append(Finding(level: .warn, check: "data folder", said: "\(data) can be listed by every user (mode \(String(folder.mode, radix: 8)))",
                                    todo: "chmod o-rwx \(data) (the systemd unit creates it 0750)"))
        } else {
            findings.append(Finding(level: .ok, check: "data folder", said: "\(data), mode \(String(folder.mode, radix: 8))"))
        }
        if folder.owner != getuid() {
            findings.append(Finding(level: .warn, check: "data folder owner", said: "\(data) belongs to uid \(folder.owner), not to this user (\(getuid()))",
                                    todo: "run the doctor as the worker's user: runuser -u voxfcgi -- voxfcgi doctor"))
        }
        // The calls themselves: data.mdb must be the worker's alone.
        if let file = mode(settings.lmdbDirectory + "/data.mdb"), file.mode & 0o077 != 0 {
            findings.append(Finding(level: .fail, check: "database file", said: "data.mdb has mode \(String(file.mode, radix: 8)): other users can read the calls",
                                    todo: "chmod 0600 \(settings.lmdbDirectory)/data.mdb"))
        } else if let lmdb = mode(settings.lmdbDirectory), lmdb.mode & 0o077 != 0 {
            findings.append(Finding(level: .warn, check: "lmdb folder", said: "\(settings.lmdbDirectory) has mode \(String(lmdb.mode, radix: 8))",
                                    todo: "chmod 0700 \(settings.lmdbDirectory) (the systemd unit does)"))
        }
        return findings
    }

    static func masterKey(_ settings: Settings) -> [Finding] {
        if settings.masterKey != nil {
            return [Finding(level: .ok, check: "master key", said: "from VOXFCGI_MASTER_KEY (keep the file it comes from 0600 root)")]
        }
        let path = settings.masterKeyFile
        guard let key = mode(path) else {
            return [Finding(level: .warn, check: "master key", said: "\(path) does not exist yet (the worker creates it on first start)",
                            todo: "after the first start, copy it somewhere safe, apart from the backups")]
        }
        if key.mode & 0o077 != 0 {
            return [Finding(level: .fail, check: "master key", said: "\(path) has mode \(String(key.mode, radix: 8)): others can read the key to every secret",
                            todo: "chmod 0600 \(path)")]
        }
        guard (try? settings.keyring()) != nil else {
            return [Finding(level: .fail, check: "master key", said: "\(path) cannot be read as a keyring", todo: "restore it from where you keep it")]
        }
        return [Finding(level: .ok, check: "master key", said: "\(path), mode \(String(key.mode, radix: 8))")]
    }

    // MARK: nginx and the socket

    static func nginxTest(binary: String, conf: String?) -> Finding {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [binary, "-t"] + (conf.map { ["-c", $0] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch {
            return Finding(level: .warn, check: "nginx", said: "\(binary) could not be run", todo: "install nginx (Debian: nginx-light)")
        }
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            return Finding(level: .warn, check: "nginx", said: "\(binary) is not installed", todo: "install nginx (Debian: nginx-light)")
        }
        let last = said.split(separator: "\n").last.map(String.init) ?? ""
        return process.terminationStatus == 0
            ? Finding(level: .ok, check: "nginx -t", said: last)
            : Finding(level: .fail, check: "nginx -t", said: String(said.suffix(400)).trimmingCharacters(in: .whitespacesAndNewlines),
                      todo: "fix the config nginx names above (the shipped files are in nginx/)")
    }

    static func socket(_ path: String) -> Finding {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            return Finding(level: .fail, check: "socket", said: "\(path) is too long for a unix socket", todo: "set a shorter VOXFCGI_SOCKET")
        }
        _ = withUnsafeMutableBytes(of: &address.sun_path) { buffer in path.utf8CString.withUnsafeBytes { buffer.copyBytes(from: $0) } }
        let descriptor = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected == 0
            ? Finding(level: .ok, check: "socket", said: "the worker answers at \(path)")
            : Finding(level: .warn, check: "socket", said: "nothing listens at \(path) (\(String(cString: strerror(errno))))",
                      todo: "start the worker (systemctl start voxfcgi); nginx's voxfcgi-http.conf must name this path")
    }

    // MARK: The map

    static func headroom(_ database: Database, settings: Settings) -> [Finding] {
        let usage = database.environment.usage
        let ceiling = Int64(settings.mapMaxMB) << 20
        var findings: [Finding] = []
        let share = Double(usage.usedBytes) / Double(ceiling)
        findings.append(Finding(
            level: share > 0.8 ? .fail : share > 0.5 ? .warn : .ok, check: "map headroom",
            said: "\(usage.usedBytes >> 20) MiB of the \(settings.mapMaxMB) MiB ceiling in use (\(Int(share * 100))%)",
            todo: "raise VOXFCGI_MAP_MAX_MB (and make sure the disk has the room), or lower the retention"))
        var disk = statvfs()
        if statvfs(settings.dataDirectory, &disk) == 0 {
            let free = Int64(disk.f_bavail) * Int64(disk.f_frsize)
            let room = ceiling - Int64(usage.usedBytes)
            findings.append(Finding(
                level: free < min(room, 1 << 30) ? .warn : .ok, check: "disk",
                said: "\(free >> 20) MiB free where the data is",
                todo: "the map may grow by \(room >> 20) MiB more: free disk space or lower VOXFCGI_MAP_MAX_MB"))
        }
        return findings
    }

    // MARK: Upstreams

    /// Each endpoint the saved setup talks to: reachable (any HTTP answer), and its `Date` within
    /// a minute of ours (signatures and token lifetimes need the clocks close).
    static func upstreams(_ database: Database, settings: Settings) -> [Finding] {
        var endpoints: [(String, String)] = [("Voximplant", settings.voximplantURL), ("ElevenLabs", settings.elevenLabsURL)]
        if let storage = try? database.environment.read({ txn in try database.storageSettings.get(txn, StorageSettings.recordID) }),
           storage.kind == .s3, !storage.s3Endpoint.isEmpty {
            endpoints.append(("S3", storage.s3Endpoint))
        }
        return endpoints.map { name, url in
            var configuration = HTTPClient.Configuration(service: name)
            configuration.totalTimeout = 10
            configuration.retry = RetryPolicy(maxAttempts: 1)
            let client = HTTPClient(configuration: configuration, logger: Logger(label: "voxfcgi.doctor", factory: { _ in SwiftLogNoOpLogHandler() }))
            let started = Date()
            do {
                let response = try client.send(HTTPRequest(method: "GET", url: url, expectedStatuses: Set(100...599)))
                let rtt = Date().timeIntervalSince(started)
                guard let header = response.headers["date"], let theirs = httpDate(header) else {
                    return Finding(level: .ok, check: name, said: "\(url) answers (HTTP \(response.status)); no Date header to compare clocks")
                }
                let skew = theirs.timeIntervalSince(started.addingTimeInterval(rtt / 2))
                if abs(skew) > 60 {
                    return Finding(level: .fail, check: name, said: "\(url) answers, but its clock and ours differ by \(Int(skew)) s",
                                   todo: "sync this machine's clock (systemd-timesyncd or chrony): S3 signatures and tokens expire")
                }
                return Finding(level: .ok, check: name, said: "\(url) answers (HTTP \(response.status)); clocks within \(String(format: "%.1f", abs(skew))) s")
            } catch {
                return Finding(level: .fail, check: name, said: "\(url) is not reachable: \(error)",
                               todo: "check DNS, the firewall and any proxy between this host and \(name)")
            }
        }
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

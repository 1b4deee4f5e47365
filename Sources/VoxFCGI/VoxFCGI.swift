import ArgumentParser
import Foundation
import KVStore
import Logging
import Metrics
import ObjectStore
import Prometheus
import Essentials
import VoxCore
import VoxServices
import VoxWorker

@main
struct VoxFCGICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxfcgi",
        abstract: "Admin server for ElevenLabs voice agents on Voximplant numbers (a FastCGI worker behind nginx).",
        discussion: "Settings come from VOXFCGI_* environment variables; see the README.",
        subcommands: [Serve.self, UserCommand.self, FirstAdmin.self, SeedDemo.self, VaultCommand.self, BackupCommand.self, DoctorCommand.self,
                      RoutesCommand.self])

    /// Named in backup manifests.
    static let version = "0.16"
}

/// What every subcommand opens: settings, the data folder, the database.
struct Runtime {
    let settings: Settings
    let database: Database

    init() throws {
        settings = try Settings()
        database = try settings.openDatabase()
    }

    func keyring() throws -> Keyring { try settings.keyring() }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the FastCGI worker until SIGTERM or SIGINT.")

    func run() throws {
        let settings = try Settings()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "voxfcgi")
        // Before any thread starts: a signal during start-up still stops the worker in order.
        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        try serve(settings, logger: logger, until: stop)
        // Every thread has ended and the database is closed.
        logger.info("stopped")
        _ = sources
    }

    /// Builds the worker, starts it, waits for `stop`, and stops it in order (see `Worker`).
    /// The worker (and with it the database) goes only as this returns: the process's exit,
    /// which runs libcrypto's clean-up, finds no thread of ours running.
    private func serve(_ settings: Settings, logger: Logger, until stop: DispatchSemaphore) throws {
        let worker = try Worker(settings: settings, logger: logger, metrics: settings.metricsEnabled ? Self.bootstrapMetrics() : nil)
        try worker.start()
        stop.wait()
        if let stillRunning = worker.stop(gracePeriod: 30) { Self.abandon(stillRunning, logger) }
    }

    /// swift-metrics, once for the process, into a Prometheus registry: the worker's counters
    /// and histograms land there, and the scrape reads it. Buckets for our own histograms:
    /// commit batches are 1 to `maxBatch` closures; latencies from 0.1 ms to 10 s.
    private static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[MetricName.commitBatch] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        factory.defaultDurationHistogramBuckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
            .map { Duration.nanoseconds(Int64($0 * 1e9)) }
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// Something still runs past the grace period: end the process at once, with no
    /// clean-up at all (no atexit handlers, no deinit), so nothing is freed under that
    /// thread. LMDB's committed data is safe as after a kill; the unfinished job runs again
    /// when its lease ends.
    private static func abandon(_ reason: String, _ logger: Logger) -> Never {
        logger.critical("stopping without clean-up: \(reason)")
        _exit(EXIT_FAILURE)
    }
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users.", subcommands: [Add.self, SetPassword.self, Disable.self, Enable.self, List.self])

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user: they cannot sign in, and their sessions end now.")
        @Option(help: "The login email.") var email: String
        func run() throws { try UserCommand.setDisabled(email, true, done: "disabled, and their sessions have ended") }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user again.")
        @Option(help: "The login email.") var email: String
        func run() throws { try UserCommand.setDisabled(email, false, done: "enabled") }
    }

    static func setDisabled(_ email: String, _ disabled: Bool, done: String) throws {
        do { try Users(database: try Runtime().database).setDisabled(email: email, disabled) } catch let error as UserError {
            throw ValidationError(error.description)
        }
        print("\(Users.normalize(email: email)) \(done)")
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user; prints a generated password unless --password-stdin.")
        @Option(help: "The login email.") var email: String
        @Option(help: "admin, operator or viewer (a viewer is assigned operators on the Team page).") var role: String = "operator"
        @Option(help: "IANA time zone for the user's pages.") var timeZone: String = "UTC"
        @Flag(help: "Read the password from standard input instead of generating one.") var passwordStdin = false

        func run() throws {
            guard let role = Role(rawValue: role) else {
                throw ValidationError("role must be admin, operator or viewer")
            }
            let runtime = try Runtime()
            let password = passwordStdin ? (readLine(strippingNewline: true) ?? "") : Users.generatePassword()
            do {
                let user = try Users(database: runtime.database).create(
                    email: email, role: role, password: password, timeZone: timeZone)
                print("created \(user.role.rawValue) \(user.email)")
                if !passwordStdin { print("password: \(password)") }
            } catch let error as UserError {
                throw ValidationError(error.description)
            }
        }
    }

    struct SetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password; prints a generated one unless --password-stdin.")
        @Option(help: "The login email.") var email: String
        @Flag(help: "Read the password from standard input.") var passwordStdin = false

        func run() throws {
            let runtime = try Runtime()
            let password = passwordStdin ? (readLine(strippingNewline: true) ?? "") : Users.generatePassword()
            do {
                try Users(database: runtime.database).setPassword(email: email, password: password)
            } catch let error as UserError {
                throw ValidationError(error.description)
            }
            print("password set for \(Users.normalize(email: email))")
            if !passwordStdin { print("password: \(password)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        func run() throws {
            for user in try Users(database: try Runtime().database).all() {
                print("\(user.id)\t\(user.role.rawValue)\t\(user.email)\t\(user.timeZone)\(user.isDisabled ? "\tdisabled" : "")")
            }
        }
    }
}

struct FirstAdmin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "first-admin",
        abstract: "Create an admin if there are no users yet, and print its password once.")
    @Option(help: "The admin's email.") var email = "admin@voxfcgi.local"

    func run() throws {
        let runtime = try Runtime()
        let users = Users(database: runtime.database)
        guard try users.count() == 0 else {
            print("Users exist already. Forgot the password? voxfcgi user set-password --email …")
            return
        }
        let password = Users.generatePassword()
        _ = try users.create(email: email, role: .admin, password: password)
        print("First login — email: \(email)  password: \(password)")
        print("(shown once; change it with: voxfcgi user set-password --email \(email))")
    }
}

struct SeedDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo",
        abstract: "Fill the data folder with realistic demo calls (accounts, applications, calls, transcripts).")
    @Option(help: "How many calls.") var calls = 5_000
    @Option(help: "Spread over this many days, ending now.") var days = 90
    @Option(help: "Owner of the demo accounts (default: the first admin).") var email: String?
    @Option(help: "Seed of the random generator: the same seed gives the same calls.") var seed: UInt64 = 2026
    @Flag(help: "Also add a few calls with playable recordings and transcripts that line up (make demo).")
    var withRecordings = false

    func run() throws {
        let runtime = try Runtime()
        let users = Users(database: runtime.database)
        let owner: User
        if let email {
            guard let user = try users.find(email: email) else { throw ValidationError("no user \(email)") }
            owner = user
        } else {
            guard let admin = try users.all().first(where: \.isAdmin) else {
                throw ValidationError("no admin yet: run `voxfcgi first-admin` (make run does) or pass --email")
            }
            owner = admin
        }
        var demo = DemoData(database: runtime.database, seed: seed)
        let started = Date()
        let written = try demo.seed(owner: owner, calls: calls, days: days) { done in
            if done % 100_000 == 0 { print("  \(done) calls…") }
        }
        print("seeded \(written) calls for \(owner.email) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        if withRecordings {
            let store = try LocalDiskStore(root: runtime.settings.recordingsDirectory)
            let ids = try DemoRecordings(database: runtime.database, store: store).add(owner: owner)
            print("added \(ids.count) calls with recordings: \(ids.map { "/calls/\($0)" }.joined(separator: " "))")
        }
    }
}

struct VaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault", abstract: "Master keys and sealed secrets.",
        subcommands: [Status.self, Rotate.self, Retire.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the master keys and how many secrets each seals.")
        func run() throws {
            let runtime = try Runtime()
            let keyring = try runtime.keyring()
            let usage = try VaultRotation(database: runtime.database, vault: Vault(keyring: keyring)).usage()
            for id in keyring.keys.keys.sorted() {
                print("key \(id)\(id == keyring.activeID ? " (active)" : ""): \(usage[id] ?? 0) secrets")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new master key and re-seal every secret under it.",
            discussion: "Safe to interrupt: run it again with --resume to finish re-sealing without adding another key.")
        @Flag(help: "Do not add a key; finish re-sealing under the current active key.") var resume = false

        func run() throws {
            let runtime = try Runtime()
            guard runtime.settings.masterKey == nil else {
                throw ValidationError("the master keys come from VOXFCGI_MASTER_KEY: add the new key there (id:base64,…) and run with --resume")
            }
            let keyring = resume ? try runtime.keyring() : try Keyring.addKey(path: runtime.settings.masterKeyFile)
            if !resume { print("added master key \(keyring.activeID) to \(runtime.settings.masterKeyFile)") }
            let result = try VaultRotation(database: runtime.database, vault: Vault(keyring: keyring)).run()
            print("re-sealed \(result.resealed) secrets; \(result.remaining) left under older keys")
            try AuditLog(database: runtime.database).record(.vaultRotated, by: .commandLine,
                                                            "to key \(keyring.activeID): \(result.resealed) re-sealed, \(result.remaining) left")
            if result.remaining == 0 && keyring.keys.count > 1 {
                print("older keys can be retired: voxfcgi vault retire --key-id N (restart the worker first)")
            }
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an old master key that no secret uses any more.")
        @Option(help: "The key to remove.") var keyID: UInt32

        func run() throws {
            let runtime = try Runtime()
            let keyring = try runtime.keyring()
            let usage = try VaultRotation(database: runtime.database, vault: Vault(keyring: keyring)).usage()
            guard usage[keyID, default: 0] == 0 else {
                throw ValidationError("key \(keyID) still seals \(usage[keyID]!) secrets: run `voxfcgi vault rotate --resume` first")
            }
            _ = try Keyring.removeKey(keyID, path: runtime.settings.masterKeyFile)
            try AuditLog(database: runtime.database).record(.vaultRotated, by: .commandLine, "retired key \(keyID)")
            print("retired master key \(keyID)")
        }
    }
}

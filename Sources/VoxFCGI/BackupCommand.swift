import ArgumentParser
import Foundation
import Logging
import ObjectStore
import VoxCore
import VoxServices
import VoxWorker

/// `voxfcgi backup …`: online snapshots of the data into the recordings store, and restores
/// into a new data folder.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Online backups of the data, and restores.",
        subcommands: [Create.self, List.self, Restore.self, Prune.self])

    /// The services a backup needs, on the data folder the settings name.
    static func backups(_ runtime: Runtime) throws -> Backups {
        let keyring = try runtime.keyring()
        let vault = Vault(keyring: keyring)
        let stores = try RecordingStores(root: runtime.settings.recordingsDirectory, database: runtime.database, vault: vault,
                                         logger: Logger(label: "voxfcgi.backup"))
        return Backups(database: runtime.database, vault: vault, stores: stores, programVersion: VoxFCGICommand.version)
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a backup now, while the worker runs, into the recordings store (then prune by the policy).")
        @Flag(help: "Do not prune older backups afterwards.") var noPrune = false
        @Flag(help: "Run at normal priority (by default a backup runs at nice 10, behind the worker).") var notNice = false

        func run() throws {
            // A store that stops reading must not kill us with SIGPIPE: the copy sees EPIPE.
            signal(SIGPIPE, SIG_IGN)
            // Background work: compressing takes a whole core, which webhooks need more.
            if !notNice { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
            let runtime = try Runtime()
            let backups = try BackupCommand.backups(runtime)
            let manifest = try backups.create()
            print("backup \(manifest.name): \(manifest.size) bytes (\(manifest.databaseBytes) uncompressed), sha256 \(manifest.sha256)")
            let keys = manifest.masterKeyIDs.map(String.init).joined(separator: ", ")
            print(manifest.masterKeyIDs.isEmpty ? "it holds no sealed secret"
                  : "its secrets need master key\(manifest.masterKeyIDs.count == 1 ? "" : "s") \(keys) (not in the backup: keep the key file safe, apart from the backups)")
            if !noPrune {
                for name in try backups.prune(runtime.settings.backupPolicy) { print("pruned \(name)") }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups in the recordings store, newest first.")
        func run() throws {
            let runtime = try Runtime()
            for manifest in try BackupCommand.backups(runtime).list() {
                print("\(manifest.name)  \(manifest.size) bytes  schema \(manifest.schemaVersion)  keys \(manifest.masterKeyIDs.map(String.init).joined(separator: ","))")
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the backups the retention policy does not keep.")
        func run() throws {
            let runtime = try Runtime()
            for name in try BackupCommand.backups(runtime).prune(runtime.settings.backupPolicy) { print("pruned \(name)") }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup into a new, empty data folder.",
            discussion: """
            The store is a recordings folder (--from-folder, default: this data folder's recordings) or an S3 bucket \
            (--s3-endpoint, --s3-region, --s3-bucket; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). \
            The master key file is not in the backup: put it (VOXFCGI_MASTER_KEY_FILE) next to the restored data.
            """)
        @Argument(help: "The backup's name (voxfcgi-YYYYMMDDTHHMMSSZ).") var name: String
        @Option(help: "The new data folder (must be empty or absent).") var into: String
        @Option(help: "A recordings folder holding backups/.") var fromFolder: String?
        @Option var s3Endpoint: String?
        @Option var s3Region: String = "us-east-1"
        @Option var s3Bucket: String?
        @Option(help: "path or virtual-host") var s3Addressing: String = "path"

        func run() throws {
            let settings = try Settings()
            let store: any ObjectStore
            if let endpoint = s3Endpoint {
                let environment = ProcessInfo.processInfo.environment
                guard let bucket = s3Bucket, let access = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"],
                      let addressing = S3Configuration.Addressing(rawValue: s3Addressing) else {
                    throw ValidationError("an S3 restore needs --s3-bucket, a valid --s3-addressing, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                }
                let configuration = S3Configuration(endpoint: endpoint, region: s3Region, bucket: bucket, addressing: addressing,
                                                    accessKeyID: access)
                if let problem = configuration.problems.first { throw ValidationError(problem.description) }
                store = S3Store(configuration: configuration, credentials: AWSCredentials(accessKeyID: access, secretAccessKey: secret),
                                logger: Logger(label: "voxfcgi.backup"))
            } else {
                store = try LocalDiskStore(root: fromFolder ?? settings.recordingsDirectory)
            }
            let keyring = try? settings.keyring()
            let outcome = try BackupRestore.restore(name, from: store, intoDataFolder: into, keyring: keyring)
            let manifest = outcome.manifest
            print("restored \(manifest.name) (taken \(manifest.createdAt), schema \(manifest.schemaVersion)) into \(into)/lmdb")
            let keys = manifest.masterKeyIDs.map(String.init).joined(separator: ", ")
            if outcome.missingKeyIDs.isEmpty {
                print("its secrets need master key(s) \(keys): the current key file has them")
            } else {
                print("its secrets need master key(s) \(keys); missing here: \(outcome.missingKeyIDs.map(String.init).joined(separator: ", ")) — the saved API keys will not open until the key file holds them")
            }
        }
    }
}

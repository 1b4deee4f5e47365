import FastCGI
import Foundation
import ObjectStore
import VoxCore

/// Setup › Recording storage (admins): local disk or an S3-compatible bucket, and retention.
/// The secret key is write-only: the form never shows it, an empty field keeps the saved one.
enum StoragePage {
    static func show(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        try render(context, services, form: StorageForm(try services.recordings.settings()))
    }

    /// Runs `body` with the submitted form and the settings it makes, or answers with the
    /// form and what is wrong with it.
    static func withSubmittedForm(_ request: Request, _ context: RequestContext, _ services: Services,
                                  _ body: (StorageForm, StorageSettings) throws -> Response) throws -> Response {
        let saved = try services.recordings.settings()
        let form = StorageForm(try request.form())
        let problems = form.problems(saved: saved)
        guard problems.isEmpty else {
            return try render(context, services, form: form, status: .unprocessableContent, notice: ("error", problems.joined(separator: " ")))
        }
        return try body(form, try form.settings(updating: saved, vault: services.vault, now: services.clock.now()))
    }

    static func save(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        try withSubmittedForm(request, context, services) { form, settings in
            try services.database.environment.write { txn in
                try services.database.storageSettings.put(txn, StorageSettings.recordID, settings)
            }
            context.logger.notice("recording storage changed", metadata: ["kind": .string(settings.kind.rawValue),
                                                                          "retention_days": .stringConvertible(settings.retentionDays)])
            return try render(context, services, form: StorageForm(settings), notice: ("ok", "Saved. New recordings go to \(form.summary)."))
        }
    }

    /// Writes, reads back and deletes a small object with the values in the form (saved or not).
    static func test(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        try withSubmittedForm(request, context, services) { form, settings in
            let store: any ObjectStore
            if form.kind == .s3 {
                store = try RecordingStores.makeS3(settings, vault: services.vault, timeout: 15, logger: context.logger,
                                                   retry: .init(maxAttempts: 1))
            } else {
                store = services.recordings.local
            }
            let started = Date()
            do {
                try probe(store, temporaryDirectory: services.temporaryDirectory)
            } catch let error as ObjectStoreError {
                return try render(context, services, form: form, status: .badGateway, notice: ("error", "Test failed: \(error.description)."))
            }
            let elapsed = Int(Date().timeIntervalSince(started) * 1000)
            return try render(context, services, form: form,
                              notice: ("ok", "Test passed: wrote, read back and deleted a test object in \(store.label) (\(elapsed) ms)."))
        }
    }

    static func probe(_ store: any ObjectStore, temporaryDirectory: String) throws {
        let file = temporaryDirectory + "/probe-\(UUID().uuidString)"
        let marker = "voxfcgi storage test \(Date())"
        guard FileManager.default.createFile(atPath: file, contents: Data(marker.utf8)) else {
            throw ObjectStoreError.io("cannot write \(file)")
        }
        defer { unlink(file) }
        let key = try ObjectKey("voxfcgi-probe/\(UUID().uuidString).txt")
        try store.put(key, fromFile: file, contentType: "text/plain")
        defer { try? store.delete(key) }
        try store.get(key, toFile: file + ".back")
        defer { unlink(file + ".back") }
        guard (try? String(contentsOfFile: file + ".back", encoding: .utf8)) == marker else {
            throw ObjectStoreError.io("the test object read back differently")
        }
    }

    static func render(_ context: RequestContext, _ services: Services, form: StorageForm, status: HTTPStatus = .ok,
                       notice: (kind: String, text: String)? = nil) throws -> Response {
        let saved = try services.recordings.settings()
        var values = form.values
        values["secretMask"] = saved.s3SecretSealed == nil ? "not saved" : "saved (leave empty to keep)"
        values["tokenSaved"] = saved.s3SessionTokenSealed != nil
        values["localPath"] = services.recordings.local.root
        if let notice { values["notice"] = ["kind": notice.kind, "text": notice.text] }
        return Pages.render("storage", title: "Recording storage", values, context: context, services: services, status: status,
                            activePath: "/setup")
    }
}

/// The storage form's fields, parsed and checked; secrets only as typed in this request.
struct StorageForm {
    var kind: StorageSettings.Kind
    var endpoint: String
    var region: String
    var bucket: String
    var addressing: String
    var accessKeyID: String
    var secret: String
    var sessionToken: String
    var clearSessionToken: Bool
    var retention: String

    init(_ settings: StorageSettings) {
        kind = settings.kind
        endpoint = settings.s3Endpoint
        region = settings.s3Region
        bucket = settings.s3Bucket
        addressing = settings.s3Addressing
        accessKeyID = settings.s3AccessKeyID
        secret = ""
        sessionToken = ""
        clearSessionToken = false
        retention = String(settings.retentionDays)
    }

    init(_ form: Parameters) {
        kind = form.text("kind") == "s3" ? .s3 : .local
        endpoint = form.text("endpoint")?.trimmingCharacters(in: .whitespaces) ?? ""
        if endpoint.hasSuffix("/") { endpoint.removeLast() }
        region = form.text("region")?.trimmingCharacters(in: .whitespaces) ?? ""
        bucket = form.text("bucket")?.trimmingCharacters(in: .whitespaces) ?? ""
        addressing = form.text("addressing") == "virtual-host" ? "virtual-host" : "path"
        accessKeyID = form.text("access_key_id")?.trimmingCharacters(in: .whitespaces) ?? ""
        secret = form.text("secret") ?? ""
        sessionToken = form.text("session_token") ?? ""
        clearSessionToken = form.text("clear_session_token") == "1"
        retention = form.text("retention_days")?.trimmingCharacters(in: .whitespaces) ?? "0"
    }

    var retentionDays: Int? { retention.isEmpty ? 0 : Int(retention).flatMap { (0...36_500).contains($0) ? $0 : nil } }

    var configuration: S3Configuration {
        S3Configuration(endpoint: endpoint, region: region, bucket: bucket,
                        addressing: S3Configuration.Addressing(rawValue: addressing) ?? .path, accessKeyID: accessKeyID)
    }

    var summary: String { kind == .s3 ? "s3://\(bucket) at \(endpoint)" : "this server's disk" }

    func problems(saved: StorageSettings) -> [String] {
        var problems: [String] = []
        if retentionDays == nil { problems.append("Retention must be a whole number of days from 0 (keep forever) to 36500.") }
        guard kind == .s3 else { return problems }
        problems += configuration.problems
        if secret.isEmpty && saved.s3SecretSealed == nil { problems.append("The secret access key is required.") }
        return problems
    }

    /// The settings to store: the saved secrets unless new ones were typed, sealed.
    func settings(updating saved: StorageSettings, vault: Vault, now: Date) throws -> StorageSettings {
        var settings = saved
        settings.kind = kind
        settings.retentionDays = retentionDays ?? saved.retentionDays
        settings.updatedAt = now
        guard kind == .s3 || !endpoint.isEmpty else { return settings }
        settings.s3Endpoint = endpoint
        settings.s3Region = region
        settings.s3Bucket = bucket
        settings.s3Addressing = addressing
        settings.s3AccessKeyID = accessKeyID
        if !secret.isEmpty { settings.s3SecretSealed = try vault.seal(secret, at: StorageSettings.secretPlace) }
        if !sessionToken.isEmpty {
            settings.s3SessionTokenSealed = try vault.seal(sessionToken, at: StorageSettings.sessionTokenPlace)
        } else if clearSessionToken {
            settings.s3SessionTokenSealed = nil
        }
        return settings
    }

    var values: [String: Any] {
        [
            "isLocal": kind == .local, "isS3": kind == .s3, "endpoint": endpoint, "region": region, "bucket": bucket,
            "pathStyle": addressing == "path", "virtualHost": addressing == "virtual-host", "accessKeyID": accessKeyID,
            "retention": retention,
        ]
    }
}

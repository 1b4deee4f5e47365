import FastCGI
import Foundation
import ObjectStore
import VoxCore
import VoxServices

/// Setup › Recording storage (admins): local disk or an S3-compatible bucket, and retention.
/// The secret key is write-only: the form never shows it, an empty field keeps the saved one.
enum StoragePage {
    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try render(context, site, form: StorageForm(try site.storage.saved()))
    }

    /// Runs `body` with the submitted form and the change it asks for, or answers with the
    /// form and what is wrong with it.
    static func withSubmittedForm(_ request: Request, _ context: RequestContext, _ site: Site,
                                  _ body: (StorageForm, StorageConfiguration.Change) throws -> Response) throws -> Response {
        let form = StorageForm(try request.form())
        let problems = form.problems(saved: try site.storage.saved(), context.catalog)
        guard problems.isEmpty, let change = form.change else {
            return try render(context, site, form: form, status: .unprocessableContent, notice: .error(problems.joined(separator: " ")))
        }
        return try body(form, change)
    }

    static func save(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try withSubmittedForm(request, context, site) { form, change in
            let settings = try site.storage.save(change, by: try Pages.actor(request, context))
            context.logger.notice("recording storage changed", metadata: ["kind": .string(settings.kind.rawValue),
                                                                          "retention_days": .stringConvertible(settings.retentionDays)])
            return try render(context, site, form: StorageForm(settings), notice: .ok(context.catalog("storage_saved", ["where": form.summary])))
        }
    }

    /// Writes, reads back and deletes a small object with the values in the form (saved or not).
    static func test(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        try withSubmittedForm(request, context, site) { form, change in
            let started = Date()
            return try Pages.submitting({
                let label = try site.storage.test(change, logger: context.logger)
                let elapsed = Int(Date().timeIntervalSince(started) * 1000)
                return try render(context, site, form: form,
                                  notice: .ok(context.catalog("storage_test_ok", ["where": label, "ms": String(elapsed)])))
            }, orShow: { error in
                try render(context, site, form: form, status: error.status, notice: .error(context.catalog("storage_test_failed", ["error": context.catalog.message(error)])))
            })
        }
    }

    /// The form as typed (or as saved), and what is saved of its secrets: only whether they are.
    struct Values: Encodable {
        let isLocal: Bool
        let isS3: Bool
        let endpoint: String
        let region: String
        let bucket: String
        let pathStyle: Bool
        let virtualHost: Bool
        let accessKeyID: String
        let retention: String
        let secretMask: String
        let tokenSaved: Bool
        let localPath: String
        let notice: Pages.Notice?
    }

    static func render(_ context: RequestContext, _ site: Site, form: StorageForm, status: HTTPStatus = .ok,
                       notice: Pages.Notice? = nil) throws -> Response {
        let saved = try site.storage.saved()
        let values = Values(
            isLocal: form.kind == .local, isS3: form.kind == .s3, endpoint: form.endpoint, region: form.region,
            bucket: form.bucket, pathStyle: form.addressing == .path, virtualHost: form.addressing == .virtualHost,
            accessKeyID: form.accessKeyID, retention: form.retention,
            secretMask: saved.s3SecretSealed == nil ? "not saved" : "saved (leave empty to keep)",
            tokenSaved: saved.s3SessionTokenSealed != nil, localPath: site.storage.localRoot, notice: notice)
        return Pages.render("storage", title: context.catalog("setup_storage"), values, context: context, site: site, status: status,
                            activePath: "/setup")
    }
}

/// The storage form's fields, parsed and checked; secrets only as typed in this request.
struct StorageForm {
    var kind: StorageSettings.Kind
    var endpoint: String
    var region: String
    var bucket: String
    var addressing: S3Configuration.Addressing
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
        addressing = S3Configuration.Addressing(rawValue: settings.s3Addressing) ?? .path
        accessKeyID = settings.s3AccessKeyID
        secret = ""
        sessionToken = ""
        clearSessionToken = false
        retention = String(settings.retentionDays)
    }

    init(_ form: Parameters) {
        kind = form.text("kind").flatMap(StorageSettings.Kind.init(rawValue:)) ?? .local
        endpoint = form.text("endpoint")?.trimmingCharacters(in: .whitespaces) ?? ""
        if endpoint.hasSuffix("/") { endpoint.removeLast() }
        region = form.text("region")?.trimmingCharacters(in: .whitespaces) ?? ""
        bucket = form.text("bucket")?.trimmingCharacters(in: .whitespaces) ?? ""
        addressing = form.text("addressing").flatMap(S3Configuration.Addressing.init(rawValue:)) ?? .path
        accessKeyID = form.text("access_key_id")?.trimmingCharacters(in: .whitespaces) ?? ""
        secret = form.text("secret") ?? ""
        sessionToken = form.text("session_token") ?? ""
        clearSessionToken = form.text("clear_session_token") == "1"
        retention = form.text("retention_days")?.trimmingCharacters(in: .whitespaces) ?? "0"
    }

    var retentionDays: Int? { retention.isEmpty ? 0 : Int(retention).flatMap { (0...36_500).contains($0) ? $0 : nil } }

    var configuration: S3Configuration {
        S3Configuration(endpoint: endpoint, region: region, bucket: bucket,
                        addressing: addressing, accessKeyID: accessKeyID)
    }

    var summary: String { kind == .s3 ? "s3://\(bucket) at \(endpoint)" : "this server's disk" }

    func problems(saved: StorageSettings, _ t: Catalog) -> [String] {
        var problems: [String] = []
        if retentionDays == nil { problems.append(t("storage_retention_invalid")) }
        guard kind == .s3 else { return problems }
        problems += configuration.problems.map { t("s3_problem_" + $0.rawValue) }
        if secret.isEmpty && saved.s3SecretSealed == nil { problems.append(t("storage_secret_required")) }
        return problems
    }

    /// What the service is asked to apply; nil while the retention is not valid.
    var change: StorageConfiguration.Change? {
        retentionDays.map { days in
            StorageConfiguration.Change(kind: kind, s3: configuration, retentionDays: days, secret: secret,
                                        sessionToken: sessionToken, clearSessionToken: clearSessionToken)
        }
    }
}

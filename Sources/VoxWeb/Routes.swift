import FastCGI
import VoxServices

/// The URL space, in one place: a table, so that it can be listed (`voxfcgi routes`, which
/// the hostile-input tests read) without building the site it is bound to.
public enum Routes {
    typealias Page = @Sendable (Request, RequestContext, Site) throws -> Response

    struct Entry: Sendable {
        let method: String
        let pattern: String
        let access: Access
        let page: Page
    }

    private static func get(_ pattern: String, _ access: Access = .signedIn, _ page: @escaping Page) -> Entry {
        Entry(method: "GET", pattern: pattern, access: access, page: page)
    }

    private static func post(_ pattern: String, _ access: Access = .signedIn, _ page: @escaping Page) -> Entry {
        Entry(method: "POST", pattern: pattern, access: access, page: page)
    }

    static let all: [Entry] = [
        get("/login", .public, LoginPage.show),
        post("/login", .public, LoginPage.submit),
        post("/logout", .signedIn, LoginPage.logout),
        get("/", .signedIn, HomePage.show),
        get("/calls", .signedIn, CallsPage.show),
        get("/calls/export.csv", .signedIn, CallsPage.export),
        post("/calls/sync", .signedIn, SyncEndpoints.syncNow),
        get("/calls/:id", .signedIn, CallDetailPage.show),
        get("/recordings/:id", .signedIn, RecordingEndpoint.serve),
        get("/statistics", .signedIn, StatisticsPage.show),
        get("/setup", .signedIn, SetupPage.show),
        post("/setup/accounts", .signedIn, SetupPage.addAccount),
        get("/setup/accounts/:id", .signedIn, SetupPage.editAccount),
        post("/setup/accounts/:id", .signedIn, SetupPage.updateAccount),
        post("/setup/accounts/:id/test", .signedIn, SetupPage.testAccount),
        post("/setup/accounts/:id/active", .signedIn, SetupPage.setActive),
        post("/setup/accounts/:id/delete", .signedIn, SetupPage.deleteAccount),
        post("/setup/elevenlabs", .signedIn, SetupPage.addKey),
        post("/setup/elevenlabs/:id/test", .signedIn, SetupPage.testKey),
        post("/setup/elevenlabs/:id/webhook", .signedIn, SetupPage.setWebhookSecret),
        post("/setup/elevenlabs/:id/create-webhook", .signedIn, SetupPage.createWebhook),
        post("/setup/elevenlabs/:id/delete", .signedIn, SetupPage.deleteKey),
        get("/setup/storage", .admin, StoragePage.show),
        post("/setup/storage", .admin, StoragePage.save),
        post("/setup/storage/test", .admin, StoragePage.test),
        get("/applications", .signedIn, ApplicationsPage.list),
        get("/applications/new", .signedIn, ApplicationsPage.newForm),
        post("/applications", .signedIn, ApplicationsPage.create),
        get("/applications/:id", .signedIn, ApplicationsPage.show),
        post("/applications/:id/code", .signedIn, ApplicationsPage.code),
        post("/applications/:id/secrets", .signedIn, ApplicationsPage.secrets),
        post("/applications/:id/deploy", .signedIn, ApplicationsPage.deploy),
        post("/applications/:id/rotate-secret", .signedIn, ApplicationsPage.rotateSecret),
        post("/applications/:id/options", .signedIn, ApplicationsPage.saveOptions),
        post("/applications/:id/agent-audio", .signedIn, ApplicationsPage.fixAgentAudio),
        get("/api/sync/status", .signedIn, SyncEndpoints.status),
        get("/api/calls/live", .signedIn, LiveCalls.json),
        get("/jobs", .admin, JobsPage.show),
        post("/jobs/:id/retry", .admin, JobsPage.retry),
        post("/jobs/:id/discard", .admin, JobsPage.discard),
        post("/api/webhook/voximplant", .webhook, WebhookEndpoints.voximplant),
        post("/api/webhook/elevenlabs", .webhook, ElevenLabsWebhook.retired),
        post("/api/webhook/elevenlabs/:token", .webhook, ElevenLabsWebhook.receive),
        get("/healthz", .public) { _, _, site in
            try site.services.isHealthy()
            return .text("ok\n")
        },
    ]

    static func register(in router: inout Router, site: Site) {
        for entry in all {
            let page = entry.page
            router.add(entry.method, entry.pattern, access: entry.access) { request, context in
                try page(request, context, site)
            }
        }
    }

    /// (method, pattern, access) of every route, in the table's order.
    public static var table: [(method: String, pattern: String, access: Access)] {
        all.map { ($0.method, $0.pattern, $0.access) }
    }
}

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

    private static func get(_ pattern: String, _ access: Access = .operator, _ page: @escaping Page) -> Entry {
        Entry(method: "GET", pattern: pattern, access: access, page: page)
    }

    private static func post(_ pattern: String, _ access: Access = .operator, _ page: @escaping Page) -> Entry {
        Entry(method: "POST", pattern: pattern, access: access, page: page)
    }

    static let all: [Entry] = [
        get("/login", .public, LoginPage.show),
        post("/login", .public, LoginPage.submit),
        get("/login/code", .public, LoginPage.showCode),
        post("/login/code", .public, LoginPage.submitCode),
        post("/logout", .member, LoginPage.logout),
        get("/", .member, HomePage.show),
        get("/calls", .member, CallsPage.show),
        get("/calls/export.csv", .member, CallsPage.export),
        get("/calls/export.zip", .member, BulkExport.zip),
        post("/calls/sync", .operator, SyncEndpoints.syncNow),
        get("/calls/:id", .member, CallDetailPage.show),
        get("/recordings/:id", .member, RecordingEndpoint.serve),
        get("/statistics", .member, StatisticsPage.show),
        get("/setup", .operator, SetupPage.show),
        post("/setup/accounts", .operator, SetupPage.addAccount),
        get("/setup/accounts/:id", .operator, SetupPage.editAccount),
        post("/setup/accounts/:id", .operator, SetupPage.updateAccount),
        post("/setup/accounts/:id/test", .operator, SetupPage.testAccount),
        post("/setup/accounts/:id/active", .operator, SetupPage.setActive),
        post("/setup/accounts/:id/delete", .operator, SetupPage.deleteAccount),
        post("/setup/elevenlabs", .operator, SetupPage.addKey),
        post("/setup/elevenlabs/:id/test", .operator, SetupPage.testKey),
        post("/setup/elevenlabs/:id/webhook", .operator, SetupPage.setWebhookSecret),
        post("/setup/elevenlabs/:id/create-webhook", .operator, SetupPage.createWebhook),
        post("/setup/elevenlabs/:id/delete", .operator, SetupPage.deleteKey),
        get("/setup/storage", .admin, StoragePage.show),
        post("/setup/storage", .admin, StoragePage.save),
        post("/setup/storage/test", .admin, StoragePage.test),
        get("/applications", .operator, ApplicationsPage.list),
        get("/applications/new", .operator, ApplicationsPage.newForm),
        post("/applications", .operator, ApplicationsPage.create),
        get("/applications/:id", .operator, ApplicationsPage.show),
        post("/applications/:id/code", .operator, ApplicationsPage.code),
        post("/applications/:id/secrets", .operator, ApplicationsPage.secrets),
        post("/applications/:id/deploy", .operator, ApplicationsPage.deploy),
        post("/applications/:id/rotate-secret", .operator, ApplicationsPage.rotateSecret),
        post("/applications/:id/options", .operator, ApplicationsPage.saveOptions),
        post("/applications/:id/agent-audio", .operator, ApplicationsPage.fixAgentAudio),
        get("/api/sync/status", .member, SyncEndpoints.status),
        get("/api/calls/live", .member, LiveCalls.json),
        get("/profile", .member, ProfilePage.show),
        post("/profile/password", .member, ProfilePage.changePassword),
        post("/profile/settings", .member, ProfilePage.saveSettings),
        post("/profile/language", .member, ProfilePage.switchLanguage),
        post("/profile/2fa/start", .member, ProfilePage.startTwoFactor),
        post("/profile/2fa/confirm", .member, ProfilePage.confirmTwoFactor),
        post("/profile/2fa/disable", .member, ProfilePage.disableTwoFactor),
        get("/invite/:token", .public, InvitePage.show),
        post("/invite/:token", .public, InvitePage.submit),
        get("/team", .admin, TeamPage.show),
        post("/team", .admin, TeamPage.invite),
        post("/team/settings", .admin, TeamPage.saveSettings),
        post("/team/:id/role", .admin, TeamPage.setRole),
        post("/team/:id/active", .admin, TeamPage.setActive),
        post("/team/:id/reset", .admin, TeamPage.reset),
        post("/team/:id/sessions/end", .admin, TeamPage.endSessions),
        get("/audit", .admin, AuditPage.show),
        get("/audit/export.csv", .admin, AuditPage.export),
        get("/metrics", .webhook, MetricsRoute.serve),
        get("/health", .operator, HealthPage.show),
        get("/backups", .admin, BackupsPage.show),
        post("/backups", .admin, BackupsPage.create),
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

    /// The access of the route with exactly this method and pattern: what a page asks before
    /// it shows a link or a button to it.
    static func access(_ method: String, _ pattern: String) -> Access? {
        all.first { $0.method == method && $0.pattern == pattern }?.access
    }

    static func access(get pattern: String) -> Access? { access("GET", pattern) }

    /// (method, pattern, access) of every route, in the table's order.
    public static var table: [(method: String, pattern: String, access: Access)] {
        all.map { ($0.method, $0.pattern, $0.access) }
    }
}

import FastCGI

/// The URL space, in one place.
enum Routes {
    static func register(in router: inout Router, services: Services) {
        router.get("/login", access: .public) { request, context in
            try LoginPage.show(request, context, services)
        }
        router.post("/login", access: .public) { request, context in
            try LoginPage.submit(request, context, services)
        }
        router.post("/logout") { request, context in
            try LoginPage.logout(request, context, services)
        }
        router.get("/") { request, context in
            try HomePage.show(request, context, services)
        }
        router.get("/calls") { request, context in
            try CallsPage.show(request, context, services)
        }
        router.get("/calls/export.csv") { request, context in
            try CallsPage.export(request, context, services)
        }
        router.get("/calls/:id") { request, context in
            try CallDetailPage.show(request, context, services)
        }
        router.get("/recordings/:id") { try RecordingEndpoint.serve($0, $1, services) }
        router.get("/statistics") { request, context in
            try StatisticsPage.show(request, context, services)
        }
        router.get("/setup") { try SetupPage.show($0, $1, services) }
        router.post("/setup/accounts") { try SetupPage.addAccount($0, $1, services) }
        router.get("/setup/accounts/:id") { try SetupPage.editAccount($0, $1, services) }
        router.post("/setup/accounts/:id") { try SetupPage.updateAccount($0, $1, services) }
        router.post("/setup/accounts/:id/test") { try SetupPage.testAccount($0, $1, services) }
        router.post("/setup/accounts/:id/active") { try SetupPage.setActive($0, $1, services) }
        router.post("/setup/accounts/:id/delete") { try SetupPage.deleteAccount($0, $1, services) }
        router.post("/setup/elevenlabs") { try SetupPage.addKey($0, $1, services) }
        router.post("/setup/elevenlabs/:id/test") { try SetupPage.testKey($0, $1, services) }
        router.post("/setup/elevenlabs/:id/delete") { try SetupPage.deleteKey($0, $1, services) }
        router.get("/setup/storage", access: .admin) { try StoragePage.show($0, $1, services) }
        router.post("/setup/storage", access: .admin) { try StoragePage.save($0, $1, services) }
        router.post("/setup/storage/test", access: .admin) { try StoragePage.test($0, $1, services) }
        router.get("/applications") { try ApplicationsPage.list($0, $1, services) }
        router.get("/applications/new") { try ApplicationsPage.newForm($0, $1, services) }
        router.post("/applications") { try ApplicationsPage.create($0, $1, services) }
        router.get("/applications/:id") { try ApplicationsPage.show($0, $1, services) }
        router.post("/applications/:id/code") { try ApplicationsPage.code($0, $1, services) }
        router.post("/applications/:id/deploy") { try ApplicationsPage.deploy($0, $1, services) }
        router.post("/calls/sync") { try SyncEndpoints.syncNow($0, $1, services) }
        router.get("/api/sync/status") { try SyncEndpoints.status($0, $1, services) }
        router.get("/api/calls/live") { try LiveCalls.json($0, $1, services) }
        router.get("/jobs", access: .admin) { try JobsPage.show($0, $1, services) }
        router.post("/jobs/:id/retry", access: .admin) { try JobsPage.retry($0, $1, services) }
        router.post("/jobs/:id/discard", access: .admin) { try JobsPage.discard($0, $1, services) }
        router.post("/api/webhook/voximplant", access: .webhook) { try WebhookEndpoints.voximplant($0, $1, services) }
        router.post("/api/webhook/elevenlabs", access: .webhook) { try ElevenLabsWebhook.receive($0, $1, services) }
        router.get("/healthz", access: .public) { _, _ in
            _ = try services.users.count()
            return .text("ok\n")
        }
    }
}

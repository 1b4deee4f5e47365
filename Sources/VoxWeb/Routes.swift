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
        router.get("/statistics") { request, context in
            try StatisticsPage.show(request, context, services)
        }
        router.get("/healthz", access: .public) { _, _ in
            _ = try services.users.count()
            return .text("ok\n")
        }
    }
}

import FastCGI
import Foundation
import Logging
import VoxCore
import VoxServices
@testable import VoxWeb
import VoxWorker

/// The whole request pipeline over a temporary data folder, driven in-process, with a cookie
/// jar like a browser's. The worker is built by the same function as `voxfcgi serve`
/// (`Worker`), only with a manual clock (so that tests can move time) and a fast password
/// hasher; nothing is started: requests go straight to `app.handle`.
final class TestHarness {
    let path: String
    let worker: Worker
    let clock = ManualClock()
    /// The key the harness's vault is made of, so that a test can open what it sealed.
    static let masterKey = [UInt8](repeating: 7, count: 32)
    let vault = Vault(keyring: Keyring(keys: [1: TestHarness.masterKey]))
    var cookies: [String: String] = [:]
    var address = "192.0.2.10"
    static let password = "correct horse battery"

    var app: App { worker.app }
    var database: Database { worker.database }
    var services: ApplicationServices { worker.services }

    init(sessionLifetime: TimeInterval = 3600) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("voxweb-\(UUID())").path
        let settings = try Settings(environment: [
            "VOXFCGI_DATA_DIR": path,
            "VOXFCGI_MASTER_KEY": "1:" + Data(TestHarness.masterKey).base64EncodedString(),
            "VOXFCGI_SESSION_HOURS": String(sessionLifetime / 3600),
        ])
        var overrides = Worker.Overrides()
        overrides.clock = clock
        overrides.hasher = PasswordHasher(logN: 10, r: 8, p: 1)
        worker = try Worker(settings: settings, logger: Logger(label: "test"), overrides: overrides)
        _ = try worker.services.users.create(email: "admin@example.com", role: .admin, password: TestHarness.password)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func get(_ path: String) -> Response {
        let parts = path.split(separator: "?", maxSplits: 1)
        return send(Request(method: "GET", path: String(parts[0]),
                            query: Parameters(urlEncoded: parts.count > 1 ? String(parts[1]) : ""), headers: cookieHeader()))
    }

    @discardableResult
    func post(_ path: String, form: [(String, String)], csrf: String? = nil) -> Response {
        var fields = form
        if let csrf { fields.append(("_csrf", csrf)) }
        var headers = cookieHeader()
        headers["content-type"] = "application/x-www-form-urlencoded"
        let body = Parameters(fields.map { (name: $0.0, value: $0.1) }).urlEncoded
        return send(Request(method: "POST", path: path, headers: headers, body: Array(body.utf8), remoteAddress: address))
    }

    /// The CSRF token of the form on `path`, as a browser would read it.
    func csrfToken(on path: String = "/login") -> String {
        let html = body(get(path))
        guard let range = html.range(of: #"name="_csrf" value=""#) else { return "" }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    @discardableResult
    func login(email: String = "admin@example.com", password: String = TestHarness.password) -> Response {
        post("/login", form: [("email", email), ("password", password)], csrf: csrfToken())
    }

    func body(_ response: Response) -> String {
        String(decoding: (try? response.collectBody()) ?? [], as: UTF8.self)
    }

    private func send(_ request: Request) -> Response {
        let response = app.handle(request).settled()
        for header in response.headers(named: "Set-Cookie") {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0])
            let value = pair.count > 1 ? String(pair[1]) : ""
            if header.contains("Max-Age=0") || value.isEmpty { cookies[name] = nil } else { cookies[name] = value }
        }
        return response
    }

    private func cookieHeader() -> [String: String] {
        cookies.isEmpty ? [:] : ["cookie": cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }
}

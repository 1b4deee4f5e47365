import CryptoPrimitives
import FastCGI
import Foundation
import VoxCore

/// `POST /api/webhook/voximplant`: events from the generated scenarios.
///
/// Authenticated with the application's own webhook secret: `X-Vox-Signature: v1=<hex
/// HMAC-SHA256 of "<X-Vox-Timestamp>.<body>">` within a 5-minute window, or, from runtimes
/// without HMAC, `Authorization: Bearer <secret>` (see ScenarioGenerator). Any failure is a
/// bare 401. The answer is 2xx only after the call and its follow-up jobs are committed.
enum WebhookEndpoints {
    static let replayWindow: TimeInterval = 5 * 60
    static let maxBody = 64 * 1024

    static func voximplant(_ request: Request, _ context: RequestContext, _ services: Services) throws -> Response {
        guard request.contentType == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "send application/json")
        }
        let event = try request.json(ScenarioEvent.self)
        guard try authenticated(request, applicationID: event.applicationID, services: services) else {
            throw HTTPError(.unauthorized, "unauthorized")
        }
        let ingest = ScenarioEventIngest(database: services.database, jobs: services.jobs)
        let waker = services.jobWaker
        let callID = try services.database.environment.write { txn in
            let id = try ingest.apply(event, in: txn)
            txn.onCommit { waker.wake() }
            return id
        }
        return .json(["ok": AnyEncodable(true), "call_id": AnyEncodable(Int(callID))])
    }

    static func authenticated(_ request: Request, applicationID: UInt64, services: Services) throws -> Bool {
        guard let application = try services.database.environment.read({ txn in try services.database.applications.get(txn, applicationID) }),
              let sealed = application.webhookSecretSealed,
              let secret = try? services.vault.open(sealed, at: Vault.Place("applications", application.id, "webhook_secret"))
        else { return false }
        if let signature = request.headers["x-vox-signature"], signature.hasPrefix("v1="),
           let timestamp = request.headers["x-vox-timestamp"], let seconds = Double(timestamp) {
            guard abs(services.clock.now().timeIntervalSince1970 - seconds) <= replayWindow,
                  let given = [UInt8](hex: String(signature.dropFirst(3))) else { return false }
            let expected = HMACSHA256.authenticate(Array((timestamp + ".").utf8) + request.body, key: Array(secret.utf8))
            return constantTimeEquals(given, expected)
        }
        if let authorization = request.headers["authorization"], authorization.hasPrefix("Bearer ") {
            return constantTimeEquals(Array(authorization.dropFirst(7).utf8), Array(secret.utf8))
        }
        return false
    }
}

/// Mixed-type JSON answers without a struct per endpoint.
struct AnyEncodable: Encodable, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    let encode: (Encoder) throws -> Void
    init(_ value: some Encodable) { encode = { try value.encode(to: $0) } }
    init(booleanLiteral value: Bool) { self.init(value) }
    init(integerLiteral value: Int) { self.init(value) }
    init(stringLiteral value: String) { self.init(value) }
    func encode(to encoder: Encoder) throws { try encode(encoder) }
}

import FastCGI
import Integrations
import ObjectStore
import VoxCore
import VoxServices

// What each domain and upstream error means in HTTP, in one place. The message is the error's
// own description: each of these describes what went wrong without secrets (a vault error names
// the field, never the value; an upstream error says what the service answered).

extension SetupError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .invalid: .unprocessableContent
        case .notFound: .notFound
        case .inUse: .conflict
        }
    }

    public var message: String {
        // Someone else's record is the same 404 as a missing one.
        if case .notFound = self { return "there is no such record" }
        return description
    }
}

extension UserError: HTTPResponseError {
    public var status: HTTPStatus { self == .notFound ? .notFound : .unprocessableContent }
    public var message: String { description }
}

extension TwoFactorError: HTTPResponseError {
    public var status: HTTPStatus { .unprocessableContent }
    public var message: String { description }
}

extension TeamError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .lastAdmin: .conflict
        case .notAnOperator: .unprocessableContent
        case .linkExpired: .gone
        }
    }

    public var message: String { description }
}

/// A service upstream of us (Voximplant, ElevenLabs, the S3 store) refused or failed: 502,
/// with the error's own description of what it answered.
protocol UpstreamFailure: HTTPResponseError, CustomStringConvertible {}

extension UpstreamFailure {
    public var status: HTTPStatus { .badGateway }
    public var message: String { description }
}

extension VoximplantError: UpstreamFailure {}
extension ElevenLabsError: UpstreamFailure {}
extension ObjectStoreError: UpstreamFailure {}

/// A sealed secret that does not open is ours to fix, not the user's.
extension Vault.VaultError: HTTPResponseError {
    public var status: HTTPStatus { .internalServerError }
    public var message: String { description }
}

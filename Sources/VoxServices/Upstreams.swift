import CryptoPrimitives
import Foundation
import HTTPTransport
import Integrations
import Logging
import VoxCore

/// Builds API clients for stored accounts and keys: opens their sealed secrets just for the
/// call, and shares one HTTP client (and so its connection pool and rate limits) per service.
public struct Upstreams: Sendable {
    public let voximplantURL: String
    public let elevenLabsURL: String
    let vault: Vault
    let voximplantHTTP: HTTPClient
    let elevenLabsHTTP: HTTPClient
    /// Recording downloads: long transfers, so their own timeout.
    let recordingsHTTP: HTTPClient
    /// What a recording URL from outside may reach (see `OutboundPolicy`), and the size and
    /// speed limits of every recording download.
    public let recordingPolicy: OutboundPolicy

    /// Where Voximplant serves recordings from. Voximplant's docs do not list the hosts; the
    /// record URLs seen in public code are on subdomains of voximplant.com (e.g.
    /// `www-ru-03-4.voximplant.com/records/…`), once over plain http, which is fetched over
    /// https here. [unconfirmed: widen VOXFCGI_RECORDING_SOURCES if a real account's URLs differ]
    public static let defaultRecordingSources = "https://*.voximplant.com"

    public init(voximplantURL: String, elevenLabsURL: String, vault: Vault, logger: Logger, retry: RetryPolicy = RetryPolicy(),
                timeout: TimeInterval = 30, recordingPolicy: OutboundPolicy) {
        self.vault = vault
        self.voximplantURL = voximplantURL
        self.elevenLabsURL = elevenLabsURL
        self.recordingPolicy = recordingPolicy
        var vox = HTTPClient.Configuration(service: "voximplant")
        vox.retry = retry
        vox.totalTimeout = timeout
        var el = HTTPClient.Configuration(service: "elevenlabs")
        el.retry = retry
        el.totalTimeout = timeout
        voximplantHTTP = HTTPClient(configuration: vox, logger: logger)
        elevenLabsHTTP = HTTPClient(configuration: el, logger: logger)
        var recordings = HTTPClient.Configuration(service: "voximplant-recordings")
        recordings.retry = retry
        recordings.totalTimeout = max(timeout, 600)
        recordingsHTTP = HTTPClient(configuration: recordings, logger: logger)
    }

    /// The client for an account: its service account when one is saved (the API key
    /// otherwise), on the host Voximplant named for it when this server talks to the real
    /// Voximplant (a configured test or proxy URL is never overridden).
    public func voximplant(_ account: Account) throws -> VoximplantClient {
        let baseURL = voximplantURL == VoximplantClient.defaultBaseURL ? account.apiBaseURL ?? voximplantURL : voximplantURL
        if let sealed = account.serviceAccountSealed {
            let file = try vault.open(sealed, as: .accountServiceAccount, of: account.id)
            return VoximplantClient(baseURL: baseURL, credentials: .init(serviceAccount: try VoximplantServiceAccount(json: Array(file.utf8))),
                                    http: voximplantHTTP)
        }
        guard let sealed = account.apiKeySealed else { throw VoximplantError.authentication("no API key saved") }
        let key = try vault.open(sealed, as: .accountAPIKey, of: account.id)
        return VoximplantClient(baseURL: baseURL, credentials: .init(accountID: account.voximplantAccountID, apiKey: key),
                                http: voximplantHTTP)
    }

    /// Whether a recording URL may be sent an account's token: https under voximplant.com, or
    /// the origin of the Voximplant API this server is configured with (a proxy, a test
    /// server). Never a host a URL from outside merely names, and redirects drop it.
    public func mayCarryVoximplantToken(_ url: String) -> Bool {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host else { return false }
        var origins = "https://*" + VoximplantAPIAddress.allowedSuffix
        if let api = URL(string: voximplantURL), let apiScheme = api.scheme, let apiHost = api.host {
            origins += ", \(apiScheme)://\(apiHost)" + (api.port.map { ":\($0)" } ?? "")
        }
        return (try? OriginAllowList(origins))?.permits(scheme: scheme, host: host, port: parsed.port) ?? false
    }

    public func elevenLabs(_ key: ElevenLabsKey) throws -> ElevenLabsClient {
        let secret = try vault.open(key.apiKeySealed, as: .elevenLabsAPIKey, of: key.id)
        return ElevenLabsClient(baseURL: key.baseURL.isEmpty ? elevenLabsURL : key.baseURL, apiKey: secret, http: elevenLabsHTTP,
                                downloads: recordingsHTTP)
    }
}

/// Reads a pasted service-account file for Setup: refused with a message a person can act
/// on (never one that quotes the file) when it is not a usable key.
public enum ServiceAccountCheck {
    public static func file(_ text: String) throws -> SetupService.ServiceAccountFile {
        guard text.utf8.count <= 16 * 1024 else { throw SetupError.invalid(.serviceAccountTooLong) }
        do {
            let key = try VoximplantServiceAccount(json: Array(text.utf8))
            return SetupService.ServiceAccountFile(json: text, keyID: key.keyID, accountID: key.accountID)
        } catch let failure as VoximplantServiceAccount.Failure {
            throw SetupError.invalid(problem(failure))
        }
    }

    static func problem(_ failure: VoximplantServiceAccount.Failure) -> SetupProblem {
        switch failure {
        case .notJSON: .serviceAccountNotJSON
        case let .missing(field): .serviceAccountFieldMissing(field)
        case .key(.unreadable): .serviceAccountKeyUnreadable
        case .key(.notRSA): .serviceAccountKeyNotRSA
        case let .key(.tooShort(bits)): .serviceAccountKeyTooShort(bits: Int(bits), minimum: Int(RSAPrivateKey.minimumBits))
        }
    }
}

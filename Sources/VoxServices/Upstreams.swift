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

    public func voximplant(_ account: Account) throws -> VoximplantClient {
        guard let sealed = account.apiKeySealed else { throw VoximplantError.authentication("no API key saved") }
        let key = try vault.open(sealed, as: .accountAPIKey, of: account.id)
        return VoximplantClient(baseURL: voximplantURL, credentials: .init(accountID: account.voximplantAccountID, apiKey: key),
                                http: voximplantHTTP)
    }

    public func elevenLabs(_ key: ElevenLabsKey) throws -> ElevenLabsClient {
        let secret = try vault.open(key.apiKeySealed, as: .elevenLabsAPIKey, of: key.id)
        return ElevenLabsClient(baseURL: key.baseURL.isEmpty ? elevenLabsURL : key.baseURL, apiKey: secret, http: elevenLabsHTTP,
                                downloads: recordingsHTTP)
    }
}

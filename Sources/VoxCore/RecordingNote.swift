/// Why a call's recording is not Voximplant's own: Voximplant refused the download (with or
/// without the service account's token, at `status`), and where the ElevenLabs audio that
/// stands in for it is. Stored on the call as a short code (`stored`) rather than as words,
/// so that its page says it in the reader's language; a note written as English by an
/// earlier version does not parse and is shown as it was written.
public struct RecordingNote: Equatable, Sendable {
    public enum Fallback: String, Sendable { case awaited, archived, none }

    public var withToken: Bool
    public var status: Int
    public var fallback: Fallback

    public init(withToken: Bool, status: Int, fallback: Fallback) {
        self.withToken = withToken
        self.status = status
        self.fallback = fallback
    }

    public var stored: String { "refused:\(withToken ? "token" : "no-token"):\(status):\(fallback.rawValue)" }

    public init?(stored: String) {
        let parts = stored.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "refused", parts[1] == "token" || parts[1] == "no-token",
              let status = Int(parts[2]), (100...599).contains(status), let fallback = Fallback(rawValue: String(parts[3]))
        else { return nil }
        self.init(withToken: parts[1] == "token", status: status, fallback: fallback)
    }
}

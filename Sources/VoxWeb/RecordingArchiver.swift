import Foundation
import Integrations
import ObjectStore
import VoxCore

/// The archive job: fetch a call's recording from its source, put it in the current store,
/// then (and only then) record where it is on the call.
///
/// The source is Voximplant's recording URL, or, when Voximplant recorded nothing, the
/// conversation's audio from ElevenLabs. The bytes go to a temporary file (constant memory)
/// and are hashed there. Upload before commit: a crash in between leaves an object nobody
/// points at, which the rerun overwrites under the same key; never a call pointing at
/// nothing. Idempotent: a call that already has its recording is done.
struct RecordingArchiver {
    let services: Services

    func run(_ job: Job) throws -> JobRunner.Outcome {
        let database = services.database
        guard let callID = UInt64(job.payload),
              let call = try database.environment.read({ txn in try database.calls.get(txn, callID) }),
              call.recording == nil else { return .done }
        let settings = try services.recordings.settings()
        if let cutoff = settings.retentionCutoff(now: services.clock.now()), call.startedAt < cutoff {
            return .done  // retention would delete it at once
        }

        let temporary = services.temporaryDirectory + "/recording-\(callID)-\(UUID().uuidString)"
        defer { unlink(temporary) }
        guard let contentType = try download(call, to: temporary) else { return .done }
        // A long download may have used up much of the lease: renew it for the upload, so no
        // other runner takes the job meanwhile.
        try services.jobs.extendLease(job)
        let size = try FileDigest.size(temporary)
        let checksum = try FileDigest.sha256(file: temporary)

        let (storeName, store) = try services.recordings.current()
        let key = try ObjectKey(RecordingArchiver.key(for: call, contentType: contentType))
        try store.put(key, fromFile: temporary, contentType: contentType)
        try database.environment.write { txn in
            try CallStore(database: database).update(id: callID, in: txn) { call in
                call.recording = RecordingRef(store: storeName, key: key.rawValue, size: size, contentType: contentType,
                                              sha256: checksum)
            }
        }
        return .done
    }

    /// `calls/<owner>/<yyyy>/<mm>/<call id>.<ext>`: per tenant and month, so a listing or a
    /// bucket policy can pick out one tenant or one period.
    static func key(for call: Call, contentType: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: call.startedAt)
        return String(format: "calls/%llu/%04d/%02d/%llu.%@", call.ownerUserID, parts.year ?? 0, parts.month ?? 0, call.id,
                      fileExtension(contentType))
    }

    static func fileExtension(_ contentType: String) -> String {
        switch contentType {
        case "audio/wav", "audio/x-wav", "audio/wave": "wav"
        case "audio/ogg": "ogg"
        case "audio/mp4", "audio/aac", "audio/x-m4a": "m4a"
        case "audio/webm": "webm"
        default: "mp3"
        }
    }

    /// Downloads the recording into `path`; returns its content type, or nil when the call has
    /// no recording anywhere. Throws `PermanentFailure` when the source says it is gone.
    private func download(_ call: Call, to path: String) throws -> String? {
        if let url = call.recordingURL, !url.isEmpty {
            return try downloadFromVoximplant(url, call: call, to: path)
        }
        guard let conversation = call.conversationID, let key = try services.database.elevenLabsKey(for: call) else { return nil }
        do {
            let client = try services.upstreams.elevenLabs(key, vault: services.vault)
            return RecordingArchiver.mediaType(try client.downloadAudio(conversationID: conversation, to: path), path: path)
        } catch ElevenLabsError.notFound {
            return nil  // ElevenLabs has no audio for this conversation
        }
    }

    private func downloadFromVoximplant(_ recordingURL: String, call: Call, to path: String) throws -> String? {
        // Voximplant gives absolute URLs; a relative one is resolved against the API host.
        // Recordings in Voximplant's secure storage may need the account's credentials (the
        // reference is unsure how); plain GET is what public record URLs take.
        guard let url = URL(string: recordingURL, relativeTo: URL(string: services.upstreams.voximplantURL)),
              let scheme = url.scheme, ["http", "https"].contains(scheme) else {
            throw JobRunner.PermanentFailure("the call's recording URL is not an http(s) URL")
        }
        let response = try services.upstreams.recordingsHTTP.download(HTTPRequest(url: url.absoluteString), to: path,
                                                                     limiterKey: "account:\(call.accountID)")
        switch response.status {
        case 200..<300:
            return RecordingArchiver.mediaType(response.headers["content-type"], path: path)
        case 404, 410:
            throw JobRunner.PermanentFailure(
                "the recording is gone at Voximplant (HTTP \(response.status) for \(url.path)); nothing to archive")
        default:
            throw JobRunner.PermanentFailure("Voximplant refused the recording download (HTTP \(response.status) for \(url.path))")
        }
    }

    /// The media type without parameters; sniffed from the first bytes when the source sent
    /// none or a generic one (browsers need the right type to play).
    static func mediaType(_ header: String?, path: String) -> String {
        let declared = header?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if declared.hasPrefix("audio/") { return declared }
        guard let handle = FileHandle(forReadingAtPath: path) else { return "audio/mpeg" }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 12))
        if head.starts(with: Array("RIFF".utf8)) { return "audio/wav" }
        if head.starts(with: Array("OggS".utf8)) { return "audio/ogg" }
        return "audio/mpeg"
    }
}

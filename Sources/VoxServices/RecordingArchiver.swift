import CryptoPrimitives
import Foundation
import HTTPTransport
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
public struct RecordingArchiver: Sendable {
    let database: Database
    let stores: RecordingStores
    let upstreams: Upstreams
    let clock: any Clock

    public init(database: Database, stores: RecordingStores, upstreams: Upstreams, clock: any Clock) {
        self.database = database
        self.stores = stores
        self.upstreams = upstreams
        self.clock = clock
    }

    public func run(_ job: Job) throws -> JobRunner.Outcome {
        guard let callID = UInt64(job.payload),
              let call = try database.environment.read({ txn in try database.calls.get(txn, callID) }),
              call.recording == nil else { return .done }
        let settings = try stores.settings()
        if let cutoff = settings.retentionCutoff(now: clock.now()), call.startedAt < cutoff {
            return .done  // retention would delete it at once
        }

        let temporary = stores.temporaryDirectory + "/recording-\(callID)-\(UUID().uuidString)"
        defer { unlink(temporary) }
        // The runner renews the job's lease while this runs (see JobRunner), so a slow but
        // live download keeps its job; a stalled one is cut by the policy's low-speed limit.
        guard try download(call, to: temporary) else { return .done }
        // The type comes from the bytes, from a fixed list, never from the source's header:
        // what we serve from the panel's origin is what we say it is.
        guard let contentType = AudioFormat.sniff(path: temporary)?.contentType else {
            throw JobRunner.PermanentFailure("not an audio file: the source sent something that is not MP3, WAV, OGG, MP4, WebM or FLAC")
        }
        let size = try FileDigest.size(temporary)
        let checksum = try FileDigest.sha256(file: temporary)

        let (storeName, store) = try stores.current()
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
                      AudioFormat(contentType: contentType).fileExtension)
    }

    /// Downloads the recording into `path`; false when the call has no recording anywhere.
    /// Throws `PermanentFailure` when the source says it is gone, or may not be fetched.
    private func download(_ call: Call, to path: String) throws -> Bool {
        if let url = call.recordingURL, !url.isEmpty {
            try downloadFromVoximplant(url, call: call, to: path)
            return true
        }
        guard let conversation = call.conversationID, let key = try database.elevenLabsKey(for: call) else { return false }
        do {
            let client = try upstreams.elevenLabs(key)
            _ = try client.downloadAudio(conversationID: conversation, to: path, limits: upstreams.recordingPolicy)
            return true
        } catch ElevenLabsError.notFound {
            return false  // ElevenLabs has no audio for this conversation
        } catch let ElevenLabsError.upstream(error) where error.isPermanent {
            throw JobRunner.PermanentFailure("the ElevenLabs audio was not archived: \(error)")
        }
    }

    private func downloadFromVoximplant(_ recordingURL: String, call: Call, to path: String) throws {
        // Recordings in Voximplant's secure storage may need the account's credentials (the
        // reference is unsure how); plain GET is what public record URLs take. The URL came in
        // a signed event or from call history: the policy decides whether it may be fetched at
        // all (allowed origins, every redirect hop, no private addresses, size and speed).
        let request = HTTPRequest(url: recordingURL, policy: upstreams.recordingPolicy)
        let response: HTTPResponse
        do {
            response = try upstreams.recordingsHTTP.download(request, to: path, limiterKey: "account:\(call.accountID)")
        } catch let error as UpstreamError where error.isPermanent {
            throw JobRunner.PermanentFailure("the recording was not fetched: \(error)")
        }
        let where_ = URL(string: recordingURL)?.path ?? "?"
        switch response.status {
        case 200..<300:
            return
        case 404, 410:
            throw JobRunner.PermanentFailure(
                "the recording is gone at Voximplant (HTTP \(response.status) for \(where_)); nothing to archive")
        default:
            throw JobRunner.PermanentFailure("Voximplant refused the recording download (HTTP \(response.status) for \(where_))")
        }
    }
}

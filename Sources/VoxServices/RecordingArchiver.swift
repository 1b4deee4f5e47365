import CryptoPrimitives
import Essentials
import Foundation
import Metrics
import HTTPTransport
import Integrations
import KVStore
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
              var call = try database.environment.read({ txn in try database.calls.get(txn, callID) }),
              call.recording == nil else { return .done }
        let settings = try stores.settings()
        if let cutoff = settings.retentionCutoff(now: clock.now()), call.startedAt < cutoff {
            return .done  // retention would delete it at once
        }

        let temporary = stores.temporaryDirectory + "/recording-\(callID)-\(UUID().uuidString)"
        defer { unlink(temporary) }
        // The runner renews the job's lease while this runs (see JobRunner), so a slow but
        // live download keeps its job; a stalled one is cut by the policy's low-speed limit.
        var fromVoximplant = false
        if let url = call.recordingURL, !url.isEmpty {
            if var refusal = try downloadFromVoximplant(url, call: call, to: temporary) {
                // Refused (secure storage without a usable token): Voximplant's copy is out of
                // reach, so the conversation's audio stands in, and the call page says why.
                refusal.fallback = .awaited
                call = try note(refusal, on: callID)
            } else {
                fromVoximplant = true
            }
        }
        if !fromVoximplant {
            switch try downloadFromElevenLabs(call, to: temporary) {
            case .downloaded: break
            case .none where call.recordingNote.flatMap(RecordingNote.init(stored:))?.fallback == .awaited:
                // Voximplant refused; the conversation (or its audio) may simply not be there yet.
                guard call.startedAt < clock.now().addingTimeInterval(-RecordingArchiver.fallbackPatience) else { return .later(60) }
                var refusal = RecordingNote(stored: call.recordingNote!)!
                refusal.fallback = .none
                _ = try note(refusal, on: callID)
                return .done
            case .none: return .done
            }
        }
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
        let archivedURL = fromVoximplant ? call.recordingURL : nil  // what Voximplant may then delete
        try database.environment.write { txn in
            try CallStore(database: database).update(id: callID, in: txn) { call in
                call.recording = RecordingRef(store: storeName, key: key.rawValue, size: size, contentType: contentType,
                                              sha256: checksum)
                // Voximplant's own copy (say, once a service account was added) needs no note.
                if fromVoximplant {
                    call.recordingNote = nil
                } else if var refusal = call.recordingNote.flatMap(RecordingNote.init(stored:)) {
                    refusal.fallback = .archived
                    call.recordingNote = refusal.stored
                }
            }
            if let archivedURL, try deletesVoximplantCopy(of: call, in: txn) {
                try RecordingJobs.enqueueVoximplantDeletion(callID: callID, recordingURL: archivedURL,
                                                            jobs: JobQueue(database: database, clock: clock), in: txn)
            }
        }
        Counter(label: MetricName.recordings, dimensions: [("outcome", "archived")]).increment()
        return .done
    }

    /// The delete-voximplant-recording job: Voximplant's copy of an archived recording goes
    /// (DeleteRecord by its URL). Nothing to do once the URL is gone or the call is not archived.
    public func deleteVoximplantCopy(_ job: Job) throws -> JobRunner.Outcome {
        // The payload names the URL that was archived: a later event may have given the call
        // another, never-archived one, which must stay.
        guard let request = try? JSONDecoder().decode(RecordingJobs.VoximplantDeletion.self, from: Data(job.payload.utf8)),
              let call = try database.environment.read({ txn in try database.calls.get(txn, request.call) }),
              call.recording != nil, let url = call.recordingURL, url == request.url,
              let account = try database.environment.read({ txn in try database.accounts.get(txn, call.accountID) })
        else { return .done }
        do {
            try upstreams.voximplant(account).deleteRecord(url: url)
        } catch VoximplantError.notFound {
            // Already gone: what the job is for.
        }
        try database.environment.write { txn in
            try CallStore(database: database).update(id: request.call, in: txn) { $0.recordingURL = nil }
        }
        return .done
    }

    /// How long after a call the archive keeps waiting for ElevenLabs' audio when Voximplant
    /// refused its own recording: transcripts and audio normally follow within minutes.
    static let fallbackPatience: TimeInterval = 6 * 3600

    private func deletesVoximplantCopy(of call: Call, in txn: some ReadableTransaction) throws -> Bool {
        try database.applications.get(txn, call.applicationID)?.deleteVoximplantRecordings == true
    }

    /// Records why Voximplant's recording could not be had, and forgets its URL (no retry
    /// can fetch it); returns the call as it now is.
    private func note(_ refusal: RecordingNote, on callID: UInt64) throws -> Call {
        try database.environment.write { txn in
            try CallStore(database: database).update(id: callID, in: txn) { call in
                call.recordingNote = refusal.stored
                call.recordingURL = nil
            }
            guard let call = try database.calls.get(txn, callID) else { throw JobRunner.PermanentFailure("the call is gone") }
            return call
        }
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

    enum Fetched { case downloaded, none }

    /// The conversation's audio from ElevenLabs, when the call has a conversation.
    private func downloadFromElevenLabs(_ call: Call, to path: String) throws -> Fetched {
        guard let conversation = call.conversationID, let key = try database.elevenLabsKey(for: call) else { return .none }
        do {
            let client = try upstreams.elevenLabs(key)
            _ = try client.downloadAudio(conversationID: conversation, to: path, limits: upstreams.recordingPolicy)
            return .downloaded
        } catch ElevenLabsError.notFound {
            return .none  // ElevenLabs has no audio for this conversation
        } catch let ElevenLabsError.upstream(error) where error.isPermanent {
            throw JobRunner.PermanentFailure("the ElevenLabs audio was not archived: \(error)")
        }
    }

    /// Downloads Voximplant's recording into `path`; returns why Voximplant refused it (401,
    /// 403), or nil when downloaded. Throws `PermanentFailure` when the recording is gone or
    /// may not be fetched at all.
    private func downloadFromVoximplant(_ recordingURL: String, call: Call, to path: String) throws -> RecordingNote? {
        // The URL came in a signed event or from call history: the policy decides whether it
        // may be fetched at all (allowed origins, every redirect hop, no private addresses,
        // size and speed). Recordings in secure storage need the account's JWT (Voximplant
        // docs, "secure objects"); it goes only to Voximplant's own hosts, never on a redirect.
        let account = try database.environment.read { txn in try database.accounts.get(txn, call.accountID) }
        let carriesToken = account.map { $0.serviceAccountSealed != nil && upstreams.mayCarryVoximplantToken(recordingURL) } ?? false
        func fetch() throws -> HTTPResponse {
            var request = HTTPRequest(url: recordingURL, policy: upstreams.recordingPolicy)
            // A fresh token each time: one made before a slow first attempt may have expired.
            if carriesToken, let account, let authorization = try? upstreams.voximplant(account).bearerAuthorization() {
                request.headers.append(("Authorization", authorization))
            }
            do {
                return try upstreams.recordingsHTTP.download(request, to: path, limiterKey: "account:\(call.accountID)")
            } catch let error as UpstreamError where error.isPermanent {
                throw JobRunner.PermanentFailure("the recording was not fetched: \(error)")
            }
        }
        var response = try fetch()
        // The client's own retries resend the first token; a refusal gets one more try with a new one.
        if carriesToken, [401, 403].contains(response.status) { response = try fetch() }
        let hadToken = carriesToken
        let where_ = URL(string: recordingURL)?.path ?? "?"
        switch response.status {
        case 200..<300:
            return nil
        case 401, 403:
            // [unconfirmed: the docs name 401 for a missing token; 403 is read the same way]
            return RecordingNote(withToken: hadToken, status: response.status, fallback: .none)
        case 404, 410:
            throw JobRunner.PermanentFailure(
                "the recording is gone at Voximplant (HTTP \(response.status) for \(where_)); nothing to archive")
        default:
            throw JobRunner.PermanentFailure("Voximplant refused the recording download (HTTP \(response.status) for \(where_))")
        }
    }
}

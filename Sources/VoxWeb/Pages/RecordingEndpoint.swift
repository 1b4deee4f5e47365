import FastCGI
import Foundation
import ObjectStore
import VoxCore
import VoxServices

/// `GET /recordings/:id`: a call's recording, for the audio player and the Download button.
///
/// The worker only decides who may have which bytes; it never streams them. From local disk
/// nginx serves them (X-Accel-Redirect to its internal location, with Range support for
/// seeking); from S3 the browser is redirected to a short-lived presigned URL.
enum RecordingEndpoint {
    static func serve(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        // Another tenant's call answers exactly like a call without a recording.
        let id = try context.id()
        guard let call = try site.calls.call(id: id, viewer: user),
              let recording = call.recording, let store = try site.recordings.store(named: recording.store) else {
            throw HTTPError(.notFound, context.catalog("error_no_recording"))
        }
        let download = request.query["download"] == "1"
        let options = AccessOptions(
            contentType: recording.contentType,
            downloadName: download ? fileName(call, recording, formatting: Formatting(user: user)) : nil)
        // A download is a copy leaving the panel; playback (many range requests) is not recorded.
        if download { try Pages.audit(.recordingDownloaded, "call \(call.id)", request, context, site) }
        switch try store.access(ObjectKey(recording.key), options) {
        case let .internalRedirect(path):
            var headers: [(name: String, value: String)] = [("X-Accel-Redirect", path), ("Content-Type", recording.contentType)]
            headers.append(("Content-Disposition", options.contentDisposition ?? "inline"))
            return Response(status: .ok, headers: headers)
        case let .url(url):
            return Response(status: .found, headers: [("Location", url)])
        }
    }

    /// `2026-11-25_1405_79991234567_call-42.mp3`: when (in the viewer's zone), with whom, which call.
    static func fileName(_ call: Call, _ recording: RecordingRef, formatting: Formatting) -> String {
        let party = call.direction == .inbound ? call.fromDigits : call.toDigits
        let stamp = formatting.fileStamp(call.startedAt)
        let ext = (recording.key as NSString).pathExtension
        return [stamp, party.isEmpty ? nil : party, "call-\(call.id)"].compactMap { $0 }.joined(separator: "_")
            + (ext.isEmpty ? "" : "." + ext)
    }
}

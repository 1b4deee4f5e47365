import FastCGI
import Foundation
import VoxCore
import VoxServices

enum CallDetailPage {
    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        // Someone else's call is "not found", not "forbidden": its existence is not revealed.
        let id = try context.id()
        guard let call = try site.calls.call(id: id, viewer: user) else {
            throw HTTPError(.notFound, "there is no such call")
        }
        let formatting = Formatting(user: user)
        let application = try site.statistics.applications(viewer: user).first { $0.id == call.applicationID }
        var values = CallsPage.row(call, formatting: formatting, applicationName: application?.name)
        values["ended"] = call.endedAt.map(formatting.dateTime) ?? "—"
        values["timeZone"] = formatting.timeZone.identifier
        values["sessionID"] = call.voximplantSessionID
        values["conversationID"] = call.conversationID ?? "—"
        values["finishReason"] = call.finishReason ?? "—"
        values["durationSeconds"] = call.durationSeconds
        if let recording = call.recording {
            values["recording"] = [
                "url": "/recordings/\(call.id)", "contentType": recording.contentType,
                "format": AudioFormat(contentType: recording.contentType).fileExtension.uppercased(),
                "size": Formatting.bytes(recording.size),
                "storeLabel": recording.store == RecordingRef.s3Store ? "S3" : "this server's disk",
            ]
        } else if call.recordingURL != nil {
            values["pendingRecording"] = true
        }
        if let transcript = try site.calls.transcript(of: call) {
            values["transcript"] = [
                "turns": transcript.turns.map { turn -> [String: Any] in
                    ["role": turn.role == "agent" ? "agent" : "user", "who": turn.role == "agent" ? "Agent" : "Caller",
                     "text": turn.text, "at": Formatting.duration(turn.secondsIntoCall)]
                },
                "summary": transcript.summary ?? "",
                "verdict": transcript.successVerdict ?? "unknown",
            ]
        }
        return Pages.render("call", title: "Call \(call.id)", values, context: context, site: site, activePath: "/calls")
    }
}

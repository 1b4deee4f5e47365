import FastCGI
import Foundation
import VoxCore
import VoxServices

enum CallDetailPage {
    struct Recording: Encodable {
        let url: String
        let contentType: String
        let format: String
        let size: String
        let storeLabel: String
    }

    struct Turn: Encodable {
        let role: String
        let who: String
        let text: String
        let at: String
        /// Where the player seeks when the line is clicked (and what `#t=` names).
        let seconds: Int
    }

    struct Transcript: Encodable {
        let turns: [Turn]
        /// Nil when ElevenLabs gave none, so the page shows no empty "Summary:" line.
        let summary: String?
        let verdict: String
        let verdictLabel: String
    }

    /// The cost by what Voximplant billed it for.
    struct CostSplit: Encodable {
        let telephony: String
        let recording: String
        let other: String

        /// Nil for a call whose cost came as a total only (a live event).
        init?(_ call: Call, formatting: Formatting) {
            guard let split = call.costBreakdown, let currency = call.cost?.currency else { return nil }
            telephony = formatting.amount(micros: split.telephonyMicros, currency: currency)
            recording = formatting.amount(micros: split.recordingMicros, currency: currency)
            other = formatting.amount(micros: split.otherMicros, currency: currency)
        }
    }

    struct Values: Encodable {
        let call: CallsPage.Row
        let costSplit: CostSplit?
        let ended: String
        let timeZone: String
        let sessionID: UInt64
        let conversationID: String
        let finishReason: String
        let recording: Recording?
        let pendingRecording: Bool
        /// Where the recording came from when not from Voximplant, or why there is none.
        let recordingNote: String?
        let transcript: Transcript?
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        // Someone else's call is "not found", not "forbidden": its existence is not revealed.
        let id = try context.id()
        guard let call = try site.calls.call(id: id, viewer: user) else {
            throw HTTPError(.notFound, context.catalog("error_no_call"))
        }
        let formatting = Formatting(user: user, catalog: context.catalog)
        let application = try site.statistics.applications(viewer: user).first { $0.id == call.applicationID }
        let recording = call.recording.map { recording in
            Recording(url: "/recordings/\(call.id)", contentType: recording.contentType,
                      format: AudioFormat(contentType: recording.contentType).fileExtension.uppercased(),
                      size: Formatting.bytes(recording.size),
                      storeLabel: formatting.catalog(recording.store == RecordingRef.s3Store ? "store_s3" : "store_local"))
        }
        let transcript = try site.calls.transcript(of: call).map { transcript in
            Transcript(
                turns: transcript.turns.map { turn in
                    Turn(role: turn.role == "agent" ? "agent" : "user", who: formatting.catalog(turn.role == "agent" ? "who_agent" : "who_caller"),
                         text: turn.text, at: Formatting.duration(turn.secondsIntoCall), seconds: max(0, turn.secondsIntoCall))
                },
                summary: transcript.summary.flatMap { $0.isEmpty ? nil : $0 },
                verdict: transcript.successVerdict ?? "unknown",
                verdictLabel: formatting.catalog("verdict_" + (["success", "failure"].contains(transcript.successVerdict ?? "") ? transcript.successVerdict! : "unknown")))
        }
        let values = Values(
            call: CallsPage.Row(call, formatting: formatting, applicationName: application?.name),
            costSplit: CostSplit(call, formatting: formatting),
            ended: call.endedAt.map(formatting.dateTime) ?? "—", timeZone: formatting.timeZone.identifier,
            sessionID: call.voximplantSessionID, conversationID: call.conversationID ?? "—",
            finishReason: call.finishReason ?? "—", recording: recording,
            pendingRecording: recording == nil && call.recordingURL != nil, recordingNote: call.recordingNote.map(context.catalog.recordingNote),
            transcript: transcript)
        return Pages.render("call", title: context.catalog("call_title") + " \(call.id)", values, context: context, site: site, activePath: "/calls")
    }
}

import Foundation
import Integrations
import VoxCore

/// What each kind of job does. Handlers are idempotent: a job can run again after a crash.
public enum JobHandlers {
    public static func all(_ services: Services) -> [String: JobRunner.Handler] {
        [
            ScenarioEventIngest.transcriptJob: { job in try fetchTranscript(job, services) },
            RecordingJobs.archive: { job in try RecordingArchiver(services: services).run(job) },
            RecordingJobs.deleteObject: { job in try RecordingRetention(services: services).deleteObject(job) },
            CallSync.jobKind: { job in
                guard let accountID = UInt64(job.payload) else { return .done }
                try CallSync(services: services).run(accountID: accountID) { try services.jobs.extendLease(job) }
                return .done
            },
        ]
    }

    /// Fetches the call's conversation from ElevenLabs. Until ElevenLabs says it is final, it
    /// asks again later; then it stores the transcript and flags the call in one transaction.
    static func fetchTranscript(_ job: Job, _ services: Services) throws -> JobRunner.Outcome {
        let database = services.database
        guard let callID = UInt64(job.payload),
              let call = try database.environment.read({ txn in try database.calls.get(txn, callID) }),
              let conversationID = call.conversationID else { return .done }
        guard let key = try database.elevenLabsKey(for: call) else { throw JobError.noElevenLabsKey }
        let conversation = try services.upstreams.elevenLabs(key, vault: services.vault).conversation(id: conversationID)
        guard conversation.isFinal else { return .later(30) }
        var transcript = conversation.storedTranscript
        transcript.elevenLabsKeyID = key.id
        transcript.receivedAt = services.clock.now()
        try database.environment.write { txn in
            try CallStore(database: database).saveTranscript(transcript, owner: call.ownerUserID, in: txn)
        }
        return .done
    }

    enum JobError: Error, CustomStringConvertible {
        case noElevenLabsKey
        var description: String { "the call's application has no ElevenLabs key" }
    }
}

extension ElevenLabsConversation {
    /// The transcript as VoxFCGI stores it: text turns only (tool-only turns have no message),
    /// with the analysis summary and verdict. Used by the transcript job and the webhook.
    var storedTranscript: Transcript {
        Transcript(
            conversationID: conversationID,
            turns: (transcript ?? []).compactMap { turn in
                // A time that is not a whole number of seconds within a day is shown as 0.
                turn.message.map { Transcript.Turn(role: turn.role, text: $0,
                                                   secondsIntoCall: turn.timeInCallSecs?.integer(in: 0...86_400) ?? 0) }
            },
            summary: analysis?.transcriptSummary, successVerdict: analysis?.callSuccessful)
    }
}

import Foundation
import Integrations
import VoxCore

/// What each kind of job does. Handlers are idempotent: a job can run again after a crash.
public enum JobHandlers {
    public static func all(transcripts: TranscriptFetcher, archiver: RecordingArchiver, retention: RecordingRetention,
                           sync: CallSync, jobs: JobQueue, backups: BackupJob) -> [JobKind: JobRunner.Handler] {
        [
            .fetchTranscript: { job in try transcripts.run(job) },
            .archiveRecording: { job in try archiver.run(job) },
            .deleteRecording: { job in try retention.deleteObject(job) },
            .syncAccount: { job in
                guard let accountID = UInt64(job.payload) else { return .done }
                try sync.run(accountID: accountID) { try jobs.extendLease(job) }
                return .done
            },
            .fetchSession: { job in try sync.fetchEnded(job) },
            .deleteVoximplantRecording: { job in try archiver.deleteVoximplantCopy(job) },
            .deleteConversation: { job in try retention.deleteConversation(job) },
            .backup: { job in try backups.run(job) },
        ]
    }
}

/// The transcript job: fetches the call's conversation from ElevenLabs. Until ElevenLabs says
/// it is final, it asks again later; then it stores the transcript and flags the call in one
/// transaction.
public struct TranscriptFetcher: Sendable {
    let database: Database
    let upstreams: Upstreams
    let clock: any Clock

    public init(database: Database, upstreams: Upstreams, clock: any Clock) {
        self.database = database
        self.upstreams = upstreams
        self.clock = clock
    }

    public func run(_ job: Job) throws -> JobRunner.Outcome {
        guard let callID = UInt64(job.payload),
              let call = try database.environment.read({ txn in try database.calls.get(txn, callID) }),
              let conversationID = call.conversationID else { return .done }
        // Retried, not parked: the key may be added to the application meanwhile.
        guard let key = try database.elevenLabsKey(for: call) else { throw NoElevenLabsKey() }
        let conversation = try upstreams.elevenLabs(key).conversation(id: conversationID)
        guard conversation.isFinal else { return .later(30) }
        var transcript = conversation.storedTranscript
        transcript.elevenLabsKeyID = key.id
        transcript.receivedAt = clock.now()
        try database.environment.write { txn in
            try CallStore(database: database).saveTranscript(transcript, owner: call.ownerUserID, in: txn)
        }
        return .done
    }
}

struct NoElevenLabsKey: Error, CustomStringConvertible {
    var description: String { "the call's application has no ElevenLabs key" }
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

import Foundation
import ObjectStore
import VoxCore

/// Retention: recordings of calls older than the configured number of days are deleted.
///
/// The call lets go of its recording first, and the deletion of the object is enqueued in
/// that same transaction: a call never points at a deleted object, and a deletion that fails
/// (the store is down) is retried like any job instead of being forgotten.
public struct RecordingRetention: Sendable {
    let database: Database
    let stores: RecordingStores
    let jobs: JobQueue
    let upstreams: Upstreams
    let clock: any Clock

    public init(database: Database, stores: RecordingStores, jobs: JobQueue, upstreams: Upstreams, clock: any Clock) {
        self.database = database
        self.stores = stores
        self.jobs = jobs
        self.upstreams = upstreams
        self.clock = clock
    }

    struct ObjectReference: Codable {
        var store: String
        var key: String
    }

    /// Clears what is past retention, oldest first, in batches. Returns how many calls let go.
    @discardableResult
    public func sweep(batch: Int = 500) throws -> Int {
        let settings = try stores.settings()
        guard let cutoff = settings.retentionCutoff(now: clock.now()).map(Time.micros) else { return 0 }
        var total = 0
        while true {
            let cleared = try database.environment.write { txn -> Int in
                let expired = try database.recordingsByStart.keys(txn, .closed((0, 0), (cutoff, .max)), limit: batch)
                let store = CallStore(database: database)
                var deletesConversations: [UInt64: Bool] = [:]
                for (start, callID) in expired {
                    var released: RecordingRef?
                    var conversation: (application: UInt64, id: String)?
                    try store.update(id: callID, in: txn) { call in
                        released = call.recording
                        call.recording = nil
                        conversation = call.conversationID.map { (call.applicationID, $0) }
                    }
                    if let conversation, released != nil {
                        let wanted = try deletesConversations[conversation.application]
                            ?? (database.applications.get(txn, conversation.application)?.deleteElevenLabsConversations == true)
                        deletesConversations[conversation.application] = wanted
                        if wanted { try RecordingJobs.enqueueConversationDeletion(callID: callID, jobs: jobs, in: txn) }
                    }
                    if let released {
                        let reference = ObjectReference(store: released.store, key: released.key)
                        let payload = String(decoding: try JSONEncoder().encode(reference), as: UTF8.self)
                        try jobs.enqueue(kind: .deleteRecording, payload: payload,
                                                  dedupeKey: "delete:\(released.store):\(released.key)", in: txn)
                    } else {
                        try database.recordingsByStart.delete(txn, (start, callID))  // its call is gone
                    }
                }
                return expired.count
            }
            total += cleared
            if cleared < batch { return total }
        }
    }

    /// The job that deletes an object nobody points at any more.
    public func deleteObject(_ job: Job) throws -> JobRunner.Outcome {
        guard let reference = try? JSONDecoder().decode(ObjectReference.self, from: Data(job.payload.utf8)) else {
            throw JobRunner.PermanentFailure("unreadable payload")
        }
        guard let store = try stores.store(named: reference.store) else {
            throw JobRunner.PermanentFailure("the '\(reference.store)' store is no longer configured; \(reference.key) stays there")
        }
        try store.delete(ObjectKey(reference.key))
        return .done
    }

    /// The delete-conversation job: the call's ElevenLabs conversation (transcript and audio
    /// at ElevenLabs) goes, through the key the call's application uses. The transcript kept
    /// here stays.
    public func deleteConversation(_ job: Job) throws -> JobRunner.Outcome {
        guard let callID = UInt64(job.payload),
              let call = try database.environment.read({ txn in try database.calls.get(txn, callID) }),
              // Only a conversation whose transcript came through this tenant's key is known to be
              // theirs; an id from a scenario event alone could name anyone's in a shared workspace.
              call.hasTranscript, let conversation = call.conversationID, let key = try database.elevenLabsKey(for: call)
        else { return .done }
        try upstreams.elevenLabs(key).deleteConversation(id: conversation)
        return .done
    }
}

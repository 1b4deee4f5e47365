import Foundation
import KVStore

/// What an ElevenLabs webhook, authenticated as one key, may do to calls: store a transcript
/// under that key's owner, link it to a call of an application that uses that key, and ask for
/// such a call's audio. Nothing else is reachable from it.
public struct TranscriptLinking: Sendable {
    let database: Database
    let key: ElevenLabsKey

    public init(database: Database, key: ElevenLabsKey) {
        self.database = database
        self.key = key
    }

    /// Stores the transcript and links it. `sessionHint` is the Voximplant session id the
    /// scenario passed as a dynamic variable: it finds the call among the accounts of this key's
    /// applications when the call has no conversation id yet. A call's existing conversation id
    /// is never replaced.
    public func store(_ transcript: Transcript, sessionHint: UInt64?) throws {
        var transcript = transcript
        transcript.elevenLabsKeyID = key.id
        let store = CallStore(database: database)
        try database.environment.write { txn in
            let owner = key.ownerUserID
            if let session = sessionHint, try database.callsByConversation.get(txn, (owner, transcript.conversationID)) == nil {
                for account in try accounts(using: txn) {
                    guard let call = try store.existing(account: account, session: session, in: txn) else { continue }
                    if call.conversationID == nil, try ConversationLink.allows(call, transcriptKey: key.id, database: database, in: txn) {
                        try store.update(id: call.id, in: txn) { $0.conversationID = transcript.conversationID }
                    }
                    break
                }
            }
            try store.saveTranscript(transcript, owner: owner, in: txn)
        }
    }

    /// Enqueues the archive of the conversation's audio when its call (of this key) has no
    /// recording from Voximplant. Returns whether a job was enqueued.
    public func audioIsReady(conversationID: String, jobs: JobQueue) throws -> Bool {
        try database.environment.write { txn in
            guard let callID = try database.callsByConversation.get(txn, (key.ownerUserID, conversationID)),
                  let call = try database.calls.get(txn, callID), call.recording == nil, call.recordingURL == nil,
                  try ConversationLink.allows(call, transcriptKey: key.id, database: database, in: txn) else { return false }
            try RecordingJobs.enqueueArchive(callID: callID, jobs: jobs, in: txn)
            return true
        }
    }

    /// The accounts of the applications that use this key.
    private func accounts(using txn: some ReadableTransaction) throws -> [UInt64] {
        var accounts: [UInt64] = []
        try database.applications.scan(txn) { _, application in
            if application.elevenLabsKeyID == key.id, !accounts.contains(application.accountID) { accounts.append(application.accountID) }
            return true
        }
        return accounts
    }
}

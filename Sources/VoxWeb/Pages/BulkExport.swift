import Compression
import FastCGI
import Foundation
import ObjectStore
import VoxCore
import VoxServices

/// `GET /calls/export.zip?id=…&id=…` (or `?all=1` and Call History's filter): the selected calls of Call History (or every call matching its
/// filter, up to `limit`) as one ZIP, streamed as it is built: each call's recording as it is
/// stored, its transcript as text, and a CSV of the selection. One recording at a time passes
/// through memory (a buffer) or, from S3, through a temporary file of its own; never the whole
/// archive. A GET, like the CSV export: it reads, so a viewer may use it too (every POST is a
/// change, and viewers make none); the audit log records who took what.
enum BulkExport {
    static let limit = 200

    static func zip(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user, catalog: context.catalog)
        let form = request.query
        // Taken first: a walk of "all matching" is itself work, one at a time per user.
        guard let slot = site.exports.take(user.id) else {
            var error = HTTPError(.tooManyRequests, context.catalog("export_running"))
            error.headers = [("Retry-After", "5")]
            throw error
        }
        let calls: [Call]
        if form["all"] == "1" {
            let filterForm = CallFilterForm(query: form, formatting: formatting)
            guard filterForm.errors.isEmpty else { throw HTTPError(.badRequest, filterForm.errors.joined(separator: " ")) }
            var found: [Call] = []
            try CallsPage.forEachCall(filterForm.query, viewer: user, filter: filterForm.filter, calls: site.calls,
                                      search: site.search, limit: limit) { found.append($0) }
            calls = found
        } else {
            let texts = form.all("id")
            guard !texts.isEmpty else { throw HTTPError(.badRequest, context.catalog("zip_none_selected")) }
            guard texts.count <= limit else { throw HTTPError(.badRequest, context.catalog("zip_too_many", ["n": String(limit)])) }
            var ids: [UInt64] = []
            for text in texts {
                guard let id = UInt64(text), id > 0 else { throw HTTPError(.badRequest, context.catalog("zip_bad_id")) }
                if !ids.contains(id) { ids.append(id) }
            }
            // Another tenant's call is left out exactly like one that does not exist.
            calls = try ids.compactMap { try site.calls.call(id: $0, viewer: user) }
        }
        guard !calls.isEmpty else { throw HTTPError(.notFound, context.catalog("zip_nothing")) }
        let names = Dictionary(try site.statistics.applications(viewer: user).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let filename = "calls-\(formatting.day(site.clock.now())).zip"
        let now = site.clock.now()
        return Response(status: .ok, headers: [
            ("Content-Type", "application/zip"),
            ("Content-Disposition", "attachment; filename=\"\(filename)\""),
        ], body: .stream { writer in
            defer { slot.release() }
            var recordings = 0, transcripts = 0
            defer {
                try? site.audit.record(.callsExported, by: AuditActor(user, address: request.remoteAddress),
                                       "ZIP of \(calls.count) calls (\(recordings) recordings, \(transcripts) transcripts): "
                                       + calls.prefix(50).map { String($0.id) }.joined(separator: " ") + (calls.count > 50 ? " …" : ""))
            }
            // Output in pieces of at least 64 KiB: one FastCGI record per piece, not per header.
            var pending: [UInt8] = []
            pending.reserveCapacity(128 * 1024)
            let archive = ZipWriter { bytes in
                pending += bytes
                if pending.count >= 64 * 1024 {
                    try writer.write(pending)
                    pending.removeAll(keepingCapacity: true)
                }
            }
            var csv = CallsPage.csvHeader(CallsPage.exportColumns, context.catalog)
            for call in calls {
                csv += CallsPage.csvRow(call, names: names)
                if let recording = call.recording, let store = try site.recordings.store(named: recording.store) {
                    let name = "recordings/" + RecordingEndpoint.fileName(call, recording, formatting: formatting)
                    do {
                        try store.read(ObjectKey(recording.key)) { source in
                            try archive.add(name: name, modified: call.startedAt) { write in
                                var buffer = [UInt8](repeating: 0, count: 256 * 1024)
                                while true {
                                    let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                                    if count == 0 { break }
                                    try write(Array(buffer[..<count]))
                                }
                            }
                        }
                        recordings += 1
                    } catch ObjectStoreError.notFound {
                        // Gone from the store since (retention): the CSV still lists the call.
                    }
                }
                if let transcript = try site.calls.transcript(of: call) {
                    try archive.add(name: "transcripts/call-\(call.id).txt", modified: call.startedAt,
                                    bytes: Array(text(of: transcript, call: call, formatting: formatting).utf8))
                    transcripts += 1
                }
            }
            try archive.add(name: "calls.csv", modified: now, bytes: Array(csv.utf8))
            try archive.finish()
            if !pending.isEmpty { try writer.write(pending) }
        })
    }

    /// A transcript as a person reads it: who said what, when.
    static func text(of transcript: Transcript, call: Call, formatting: Formatting) -> String {
        var lines = ["\(formatting.catalog("zip_transcript_of")) \(call.id) · \(formatting.dateTime(call.startedAt)) · "
                     + "\(PhoneNumber.display(call.fromNumber)) → \(PhoneNumber.display(call.toNumber))", ""]
        if let summary = transcript.summary, !summary.isEmpty {
            lines += ["\(formatting.catalog("transcript_summary")) \(summary)", ""]
        }
        for turn in transcript.turns {
            let who = formatting.catalog(turn.role == "agent" ? "who_agent" : "who_caller")
            lines.append("[\(Formatting.duration(turn.secondsIntoCall))] \(who): \(turn.text)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

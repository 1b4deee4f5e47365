import CryptoPrimitives
import Foundation
import HTTPTransport

/// One multipart upload: initiate, send the parts (a few at a time, each streamed from its
/// offset in the file), complete; abort if a part fails for good, so no invisible half-upload
/// is left to be billed. An upload cut short by a crash cannot abort itself: the next upload
/// of the same key aborts it first (the archive job's keys are one per call, so an unfinished
/// upload of the key can only be an earlier attempt of this same job). If that abort fails,
/// so does this upload, to be tried again later: going on would leave the earlier one behind.
struct MultipartUpload {
    let store: S3Store
    let key: ObjectKey
    let path: String
    let size: Int64
    let contentType: String

    func run() throws -> ObjectInfo {
        let partSize = max(5 << 20, store.configuration.partSize, (size + 9_999) / 10_000)
        let parts = Int((size + partSize - 1) / partSize)
        try abortEarlierUploads()
        let uploadID = try initiate()
        do {
            let etags = try sendParts(uploadID: uploadID, count: parts, partSize: partSize)
            let etag = try complete(uploadID: uploadID, etags: etags)
            return ObjectInfo(key: key.rawValue, size: size, contentType: contentType, etag: etag)
        } catch {
            _ = try? store.send("DELETE", key: key, query: [("uploadId", uploadID)])
            throw error
        }
    }

    static func abortEarlierUploads(_ store: S3Store, _ key: ObjectKey) throws {
        try MultipartUpload(store: store, key: key, path: "", size: 0, contentType: "").abortEarlierUploads()
    }

    static func initiate(_ store: S3Store, _ key: ObjectKey, contentType: String) throws -> String {
        try MultipartUpload(store: store, key: key, path: "", size: 0, contentType: contentType).initiate()
    }

    static func complete(_ store: S3Store, _ key: ObjectKey, uploadID: String, etags: [String]) throws -> String? {
        try MultipartUpload(store: store, key: key, path: "", size: 0, contentType: "").complete(uploadID: uploadID, etags: etags)
    }

    private func abortEarlierUploads() throws {
        let response = try store.send("GET", key: nil, query: [("uploads", nil), ("prefix", key.rawValue)])
        try store.expect(response, key: nil)
        for upload in XMLNode.parse(response.body)?.all("Upload") ?? [] where upload.value("Key") == key.rawValue {
            guard let id = upload.value("UploadId") else { continue }
            // 404: gone meanwhile (NoSuchUpload), which is what the abort is for.
            let aborted = try store.send("DELETE", key: key, query: [("uploadId", id)], expectedStatuses: [404])
            if aborted.status != 404 { try store.expect(aborted, key: key) }
        }
    }

    private func initiate() throws -> String {
        let response = try store.send("POST", key: key, query: [("uploads", nil)], headers: [("Content-Type", contentType)])
        try store.expect(response, key: key)
        guard let id = XMLNode.parse(response.body)?.value("UploadId"), !id.isEmpty else {
            throw ObjectStoreError.unavailable("no UploadId in the answer to CreateMultipartUpload")
        }
        return id
    }

    /// Workers take the next part number until none is left or one fails.
    private func sendParts(uploadID: String, count: Int, partSize: Int64) throws -> [String] {
        let state = PartState(count: count)
        let workers = max(1, min(store.configuration.concurrency, count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let number = state.next() {
                let offset = Int64(number - 1) * partSize
                let region = FileRegion(path: path, offset: offset, length: min(partSize, size - offset))
                do {
                    let hash = try FileDigest.sha256(region)
                    // moto (and Flask under it) need an explicit type on bodies (seen with moto 5.2.5;
                    // unconfirmed; no public source found).
                    let response = try store.send("PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                                                  headers: [("Content-Type", "application/octet-stream")],
                                                  payloadHash: hash, upload: region)
                    try store.expect(response, key: key)
                    guard let etag = response.headers["etag"] else {
                        throw ObjectStoreError.unavailable("part \(number) answered without an ETag")
                    }
                    state.finish(number, etag: etag)
                } catch {
                    state.fail(error)
                }
            }
        }
        return try state.result()
    }

    private func complete(uploadID: String, etags: [String]) throws -> String? {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(XMLEscape.text(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let response = try store.send("POST", key: key, query: [("uploadId", uploadID)],
                                      headers: [("Content-Type", "application/xml")], body: Array(xml.utf8))
        try store.expect(response, key: key)
        // S3 may answer 200 and put the error in the body when completing fails late.
        let root = XMLNode.parse(response.body)
        if root?.name == "Error" {
            throw ObjectStoreError.unavailable("completing the upload failed: \(root?.value("Code") ?? "?") \(root?.value("Message") ?? "")")
        }
        return root?.value("ETag")
    }
}

/// The shared progress of the part workers.
private final class PartState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextNumber = 1
    private let count: Int
    private var etags: [String?]
    private var error: Error?

    init(count: Int) {
        self.count = count
        etags = Array(repeating: nil, count: count)
    }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard error == nil, nextNumber <= count else { return nil }
        nextNumber += 1
        return nextNumber - 1
    }

    func finish(_ number: Int, etag: String) {
        lock.lock()
        etags[number - 1] = etag
        lock.unlock()
    }

    func fail(_ failure: Error) {
        lock.lock()
        if error == nil { error = failure }
        lock.unlock()
    }

    func result() throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        if let error { throw error }
        return etags.map { $0 ?? "" }
    }
}

/// A multipart upload of a stream whose size is not known in advance: parts of the
/// configured size are read into one buffer and sent one after another (memory: one part).
/// A stream shorter than one part goes up in a single PUT. On failure the upload is aborted.
struct StreamingUpload {
    let store: S3Store
    let key: ObjectKey
    let source: any ByteSource
    let contentType: String

    func run() throws -> ObjectInfo {
        // S3 allows 10,000 parts: 5 MiB parts carry 48 GiB, the configured size more.
        let partSize = max(5 << 20, Int(store.configuration.partSize))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: partSize, alignment: 16)
        defer { buffer.deallocate() }
        var filled = try source.readFully(into: buffer)
        if filled < partSize {
            let body = Array(buffer[0..<filled])
            let response = try store.send("PUT", key: key, headers: [("Content-Type", contentType)], body: body)
            try store.expect(response, key: key)
            return ObjectInfo(key: key.rawValue, size: Int64(filled), contentType: contentType, etag: response.headers["etag"])
        }
        try MultipartUpload.abortEarlierUploads(store, key)
        let uploadID = try MultipartUpload.initiate(store, key, contentType: contentType)
        do {
            var etags: [String] = []
            var size: Int64 = 0
            while filled > 0 {
                guard etags.count < 10_000 else { throw ObjectStoreError.io("the stream is longer than 10,000 parts of \(partSize >> 20) MiB") }
                let response = try store.send("PUT", key: key, query: [("partNumber", String(etags.count + 1)), ("uploadId", uploadID)],
                                              headers: [("Content-Type", "application/octet-stream")], body: Array(buffer[0..<filled]))
                try store.expect(response, key: key)
                guard let etag = response.headers["etag"] else {
                    throw ObjectStoreError.unavailable("part \(etags.count + 1) answered without an ETag")
                }
                etags.append(etag)
                size += Int64(filled)
                filled = try source.readFully(into: buffer)
            }
            let etag = try MultipartUpload.complete(store, key, uploadID: uploadID, etags: etags)
            return ObjectInfo(key: key.rawValue, size: size, contentType: contentType, etag: etag)
        } catch {
            _ = try? store.send("DELETE", key: key, query: [("uploadId", uploadID)])
            throw error
        }
    }
}

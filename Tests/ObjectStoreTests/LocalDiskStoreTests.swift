import Foundation
import Testing
@testable import ObjectStore

@Suite struct LocalDiskStoreTests {
    let scratch = Scratch()

    @Test func putGetHeadListDelete() throws {
        let store = try LocalDiskStore(root: scratch.path + "/store")
        let source = scratch.file("in.wav", size: 3 << 20 | 7)
        for name in ["2026/11/1.wav", "2026/11/2 with space+plus.wav", "2026/12/Запись.wav"] {
            try store.put(ObjectKey(name), fromFile: source, contentType: "audio/wav")
        }
        #expect(try store.head(ObjectKey("2026/11/1.wav"))?.size == Int64(3 << 20 | 7))
        #expect(try store.list(prefix: "2026/11/").map(\.key) == ["2026/11/1.wav", "2026/11/2 with space+plus.wav"])
        #expect(try store.list(prefix: "2026/1").count == 3)
        let copy = scratch.path + "/copy.wav"
        try store.get(ObjectKey("2026/12/Запись.wav"), toFile: copy)
        #expect(try sha256(file: copy) == sha256(file: source))

        try store.delete(ObjectKey("2026/12/Запись.wav"))
        #expect(try store.head(ObjectKey("2026/12/Запись.wav")) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.objectsDirectory + "/2026/12"), "empty directories are removed")
        try store.delete(ObjectKey("2026/12/Запись.wav"))
        #expect(throws: ObjectStoreError.notFound(key: "nope")) { try store.get(ObjectKey("nope"), toFile: copy) }
    }

    @Test(arguments: ["", "/etc/passwd", "../outside", "a/../../b", "a//b", "a/./b", "trailing/", "nul\u{0}byte", String(repeating: "x", count: 1025)])
    func unsafeKeysAreRejected(key: String) {
        #expect(throws: ObjectStoreError.self) { try ObjectKey(key) }
    }

    @Test func failedPutLeavesNothingBehind() throws {
        let store = try LocalDiskStore(root: scratch.path + "/store")
        #expect(throws: ObjectStoreError.self) {
            try store.put(ObjectKey("a.wav"), fromFile: scratch.path + "/missing.wav", contentType: "audio/wav")
        }
        #expect(try store.head(ObjectKey("a.wav")) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.temporaryDirectory).isEmpty)
    }

    @Test func replacingIsAtomicForReaders() throws {
        let store = try LocalDiskStore(root: scratch.path + "/store")
        let key = try ObjectKey("r.wav")
        try store.put(key, fromFile: scratch.text("one", "first version"), contentType: "audio/wav")
        let before = try FileManager.default.attributesOfItem(atPath: store.path(key))[.systemFileNumber] as? Int
        try store.put(key, fromFile: scratch.text("two", "second"), contentType: "audio/wav")
        let after = try FileManager.default.attributesOfItem(atPath: store.path(key))[.systemFileNumber] as? Int
        // A new inode: the old file was replaced by rename, never rewritten in place.
        #expect(before != after)
        #expect(try String(contentsOfFile: store.path(key), encoding: .utf8) == "second")
    }

    @Test func accessIsAnInternalRedirectWithAnEncodedPath() throws {
        let store = try LocalDiskStore(root: scratch.path + "/store")
        let access = try store.access(ObjectKey("2026/a b.wav"), AccessOptions(contentType: "audio/wav"))
        #expect(access == .internalRedirect("/_recordings/2026/a%20b.wav"))
    }

    @Test func contentDispositionHasAnASCIIFallbackAndTheExactName() {
        let options = AccessOptions(contentType: "audio/wav", downloadName: "2026-11-25 +7 999 звонок.wav")
        #expect(options.contentDisposition
            == "attachment; filename=\"2026-11-25 +7 999 ______.wav\"; filename*=UTF-8''2026-11-25%20%2B7%20999%20%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA.wav")
    }
}

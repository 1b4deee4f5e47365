import Foundation

/// The recording formats archived here, each with its media type and file extension, in one
/// list: what the archive job recognises by its first bytes, names its objects with, and the
/// call page shows.
public enum AudioFormat: CaseIterable, Sendable {
    case mp3, wav, ogg, mp4, webm, flac

    public var contentType: String {
        switch self {
        case .mp3: "audio/mpeg"
        case .wav: "audio/wav"
        case .ogg: "audio/ogg"
        case .mp4: "audio/mp4"
        case .webm: "audio/webm"
        case .flac: "audio/flac"
        }
    }

    public var fileExtension: String {
        switch self {
        case .mp3: "mp3"
        case .wav: "wav"
        case .ogg: "ogg"
        case .mp4: "m4a"
        case .webm: "webm"
        case .flac: "flac"
        }
    }

    /// The format of a stored media type, older spellings included (recordings archived before
    /// types came from the bytes kept the source's header: `audio/x-wav`, `audio/x-m4a`…).
    /// Anything unknown reads as MP3, Voximplant's default.
    public init(contentType: String) {
        switch contentType {
        case "audio/wav", "audio/x-wav", "audio/wave": self = .wav
        case "audio/ogg": self = .ogg
        case "audio/mp4", "audio/aac", "audio/x-m4a": self = .mp4
        case "audio/webm": self = .webm
        case "audio/flac", "audio/x-flac": self = .flac
        default: self = .mp3
        }
    }

    /// The format of a file from its first bytes; nil when it is none of these (an HTML error
    /// page, a script, anything else).
    public static func sniff(path: String) -> AudioFormat? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 12))
        func starts(_ text: String, at offset: Int = 0) -> Bool {
            let bytes = Array(text.utf8)
            return head.count >= offset + bytes.count && Array(head[offset..<offset + bytes.count]) == bytes
        }
        if starts("RIFF") && starts("WAVE", at: 8) { return .wav }
        if starts("OggS") { return .ogg }
        if starts("fLaC") { return .flac }
        if starts("ftyp", at: 4) { return .mp4 }
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return .webm }
        // MP3: an ID3v2 tag, or an MPEG audio frame sync (11 set bits, layer bits not 00).
        if starts("ID3") { return .mp3 }
        if head.count >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && head[1] & 0x06 != 0 { return .mp3 }
        return nil
    }
}

import CZlib

/// gzip (RFC 1952) streams through Debian's zlib, chunk by chunk: memory stays at zlib's
/// window plus the caller's buffers, however long the stream. One value per stream, used by
/// one thread at a time.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Compresses: `feed` what comes in, `finish` once; each returns what is ready to go out.
    public final class Compressor {
        private var stream = z_stream()
        private var output = [UInt8](repeating: 0, count: 256 * 1024)

        /// Level 1 (fastest) by default: an LMDB snapshot is mostly empty page space and
        /// repeated keys, which even the fastest level takes most of; higher levels cost far
        /// more time than they save in size (see `make bench`).
        ///
        /// `raw`: deflate data alone, without gzip's header and trailer (a ZIP entry's).
        public init(level: Int32 = 1, raw: Bool = false) throws {
            let status = raw ? voxfcgi_deflate_init_raw(&stream, level) : voxfcgi_deflate_init_gzip(&stream, level)
            guard status == Z_OK else { throw Failure(description: "deflateInit2 failed") }
        }

        /// Ready for a new stream with the same settings, after `finish`.
        public func reset() throws {
            guard deflateReset(&stream) == Z_OK else { throw Failure(description: "deflateReset failed") }
        }

        deinit { deflateEnd(&stream) }

        public func feed(_ input: UnsafeRawBufferPointer) throws -> [UInt8] { try run(input, flush: Z_NO_FLUSH) }

        public func finish() throws -> [UInt8] { try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH) }

        private func run(_ input: UnsafeRawBufferPointer, flush: Int32) throws -> [UInt8] {
            var produced: [UInt8] = []
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(input.count)
            while true {
                let (status, made) = output.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    let status = deflate(&stream, flush)
                    return (status, buffer.count - Int(stream.avail_out))
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw Failure(description: "deflate failed (\(status))")
                }
                produced += output[0..<made]
                if status == Z_STREAM_END { return produced }
                // Room left over means zlib took all the input and has nothing more to give yet.
                if flush != Z_FINISH && stream.avail_out != 0 { return produced }
            }
        }
    }

    /// Decompresses one gzip member; bytes after its end are refused (a backup is one member).
    public final class Decompressor {
        private var stream = z_stream()
        private var output = [UInt8](repeating: 0, count: 256 * 1024)
        public private(set) var isFinished = false

        public init() throws {
            guard voxfcgi_inflate_init_gzip(&stream) == Z_OK else { throw Failure(description: "inflateInit2 failed") }
        }

        deinit { inflateEnd(&stream) }

        /// Hands what `input` decompresses to to `sink`; throws on a corrupt stream.
        public func feed(_ input: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(input.count)
            repeat {
                if isFinished {
                    if stream.avail_in > 0 { throw Failure(description: "data after the end of the gzip stream") }
                    return
                }
                let (status, made) = output.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, buffer.count - Int(stream.avail_out))
                }
                switch status {
                case Z_OK, Z_STREAM_END: break
                case Z_BUF_ERROR: return  // needs more input
                default: throw Failure(description: "the gzip stream is corrupt (inflate \(status))")
                }
                if made > 0 { try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<made])) } }
                if status == Z_STREAM_END { isFinished = true }
            } while stream.avail_in > 0 || stream.avail_out == 0 || isFinished
        }
    }
}

import CZlib
import Foundation

/// Streaming gzip decompression over zlib (`inflate` with automatic header detection).
final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let path: String
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var inputEnded = false
    private var memberEnded = false
    private static let chunk = 256 * 1024

    init(path: String) throws {
        self.path = path
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard czlib_inflate_init_gzip(stream) == Z_OK else {
            stream.deallocate()
            throw ScoreIOError("cannot start gzip decompression for \(path)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Gives the first compressed bytes (already read while sniffing).
    func feed(_ bytes: [UInt8]) {
        input = bytes
        inputOffset = 0
    }

    /// Decompresses into `buffer`, reading compressed bytes with `readMore` when needed. 0 at the end.
    func read(
        into buffer: UnsafeMutableRawBufferPointer,
        readMore: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        while true {
            if inputOffset == input.count {
                if inputEnded {
                    if memberEnded { return 0 }
                    throw ScoreIOError("the gzip input \(path) ends early (truncated file?)")
                }
                if input.count != Self.chunk { input = [UInt8](repeating: 0, count: Self.chunk) }
                let n = try input.withUnsafeMutableBytes { (raw) throws -> Int in try readMore(raw) }
                input.removeSubrange(n...)
                inputOffset = 0
                if n == 0 {
                    inputEnded = true
                    continue
                }
            }
            let offset = inputOffset
            let (status, produced, consumed) = input.withUnsafeMutableBufferPointer { inBuffer -> (Int32, Int, Int) in
                let available = inBuffer.count - offset
                stream.pointee.next_in = inBuffer.baseAddress! + offset
                stream.pointee.avail_in = UInt32(available)
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(buffer.count)
                let status = inflate(stream, Z_NO_FLUSH)
                return (status, buffer.count - Int(stream.pointee.avail_out), available - Int(stream.pointee.avail_in))
            }
            inputOffset += consumed
            switch status {
            case Z_OK:
                if produced > 0 || consumed > 0 { memberEnded = false }
            case Z_STREAM_END:
                memberEnded = true
                // Another gzip member may follow (concatenated files).
                inflateReset(stream)
            case Z_BUF_ERROR where consumed == 0 && produced == 0:
                if inputOffset < input.count {
                    throw ScoreIOError("the gzip input \(path) is corrupt")
                }
            default:
                throw ScoreIOError("the gzip input \(path) is corrupt (zlib status \(status))")
            }
            if produced > 0 { return produced }
        }
    }
}

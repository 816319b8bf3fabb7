import CZlib
import Foundation

/// A failure to read or write a file of `warden score`: one message that names the path.
struct ScoreIOError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    static func posix(_ action: String, _ path: String, errno code: Int32 = errno) -> ScoreIOError {
        ScoreIOError("cannot \(action) \(path): \(String(cString: strerror(code)))")
    }
}

/// The bytes of the input file (or standard input), decompressed when they start with the gzip magic
/// bytes `1f 8b` (several concatenated gzip members are read as one stream).
///
/// - Important: not thread-safe; one task reads it at a time.
final class ScoreByteSource {
    let path: String
    /// The file's size in bytes when it is a regular file (the denominator of the progress percentage).
    let knownSize: Int64?
    let isGzip: Bool
    /// Bytes read from the file so far (compressed bytes for gzip input).
    private(set) var rawBytesRead: Int64 = 0

    private let fd: Int32
    private let ownsDescriptor: Bool
    private var prefix: [UInt8] = []
    private var prefixOffset = 0
    private var inflater: GzipInflater?

    /// Opens `path` ("-" is standard input) and sniffs the first bytes for gzip.
    /// - Throws: ``ScoreIOError`` naming the path when it cannot be opened or read.
    init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDIN_FILENO
            ownsDescriptor = false
        } else {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else { throw ScoreIOError.posix("read the input", path) }
            var info = stat()
            if fstat(opened, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                close(opened)
                throw ScoreIOError("cannot read the input \(path): it is a directory")
            }
            fd = opened
            ownsDescriptor = true
        }
        var info = stat()
        knownSize = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int64(info.st_size) : nil

        // Sniff: read until we have two bytes or the input ends.
        var head = [UInt8](repeating: 0, count: 64 * 1024)
        var filled = 0
        let descriptor = fd
        while filled < 2 {
            let offset = filled
            let n = try head.withUnsafeMutableBytes { (buffer) throws -> Int in
                try ScoreByteSource.readFD(descriptor, UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]), path: path)
            }
            if n == 0 { break }
            filled += n
        }
        rawBytesRead = Int64(filled)
        head.removeSubrange(filled...)
        isGzip = filled >= 2 && head[0] == 0x1F && head[1] == 0x8B
        if isGzip {
            inflater = try GzipInflater(path: path)
            inflater!.feed(head)
        } else {
            prefix = head
        }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Reads up to `buffer.count` bytes of (decompressed) input; 0 at the end.
    /// - Throws: ``ScoreIOError`` on a read error or corrupt gzip data.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        if let inflater {
            return try inflater.read(into: buffer) { (raw) throws -> Int in
                let n = try Self.readFD(fd, raw, path: path)
                rawBytesRead += Int64(n)
                return n
            }
        }
        if prefixOffset < prefix.count {
            let n = min(buffer.count, prefix.count - prefixOffset)
            prefix.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + prefixOffset, byteCount: n)
            }
            prefixOffset += n
            if prefixOffset == prefix.count { prefix = [] ; prefixOffset = 0 }
            return n
        }
        let n = try Self.readFD(fd, buffer, path: path)
        rawBytesRead += Int64(n)
        return n
    }

    static func readFD(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ScoreIOError.posix("read the input", path == "-" ? "(standard input)" : path)
        }
    }
}

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
    func read(into buffer: UnsafeMutableRawBufferPointer,
              readMore: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
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
                if n == 0 { inputEnded = true; continue }
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

import Foundation

/// The bytes of the input file (or standard input), decompressed when they start with the gzip magic
/// bytes `1f 8b` (several concatenated gzip members are read as one stream).
///
/// - Important: not thread-safe; one task reads it at a time.
final class ByteSource {
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
                try ByteSource.readFD(descriptor, UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]), path: path)
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
            if prefixOffset == prefix.count {
                prefix = []
                prefixOffset = 0
            }
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

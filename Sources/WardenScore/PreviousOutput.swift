import Foundation

/// The output of an earlier run, read beside the input by `--resume` when some of its records failed to score:
/// ``ScoreJob`` copies its records into the new output in order and scores the failed ones again, so the output
/// stays in input order without holding the earlier one in memory (one record and a copy buffer at a time).
///
/// - Important: not thread-safe; the job's one task uses it.
public final class PreviousOutput {
    /// What the earlier output holds for one input record.
    enum Entry {
        /// A record to keep: these bytes of the earlier output.
        case kept(Range<Int64>)
        /// A record that failed to score: score it again (or keep these bytes).
        case failed(Range<Int64>)
        /// No record (`--only-flagged`, `--skip-invalid`): nothing to write.
        case absent
    }

    public let path: String
    private let scanner: OutputScanner
    private let validLength: Int64
    private var pending: OutputScanner.Entry?
    private var ended = false
    private let descriptor: Int32
    private var copy: Range<Int64>?

    /// Opens the output `path` (format `format`), of which the first `validLength` bytes hold complete records.
    /// - Throws: ``ScoreIOError`` when it cannot be read.
    init(path: String, format: OutputFormat, validLength: Int64) throws {
        self.path = path
        self.validLength = validLength
        scanner = try OutputScanner(path: path, format: format)
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ScoreIOError.posix("read the earlier output", path) }
    }

    deinit { close(descriptor) }

    /// What the earlier output holds for input record `number`; call with increasing numbers.
    /// - Throws: ``ScoreIOError`` when it cannot be read or holds a line that is not a record.
    func entry(for number: Int) throws -> Entry {
        while true {
            if pending == nil, !ended {
                pending = try scanner.next()
                if let entry = pending, entry.range.upperBound > validLength { pending = nil }
                if pending == nil { ended = true }
            }
            guard let entry = pending else { return .absent }
            guard let recorded = entry.number else {
                throw ScoreIOError("cannot resume into \(path): line \(entry.line) is not a record written by warden score")
            }
            if recorded > number { return .absent }
            pending = nil
            if recorded == number { return entry.failedToScore ? .failed(entry.range) : .kept(entry.range) }
        }
    }

    /// Copies the bytes `range` of the earlier output to `writer` (joined with the previous range when they touch,
    /// and written by ``flush(into:)``).
    func keep(_ range: Range<Int64>, into writer: RecordWriter) throws {
        if let copy, copy.upperBound == range.lowerBound {
            self.copy = copy.lowerBound..<range.upperBound
            return
        }
        try flush(into: writer)
        copy = range
    }

    /// Writes the bytes kept so far to `writer`.
    func flush(into writer: RecordWriter) throws {
        guard var range = copy else { return }
        copy = nil
        var chunk = [UInt8](repeating: 0, count: Int(min(range.count, 1 << 20)))
        while !range.isEmpty {
            let count = Int(min(Int64(chunk.count), Int64(range.count)))
            let n = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(range.lowerBound)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ScoreIOError.posix("read the earlier output", path) }
            try chunk.withUnsafeBytes { try writer.writeVerbatim(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            range = (range.lowerBound + Int64(n))..<range.upperBound
        }
    }
}

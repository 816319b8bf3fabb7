import Foundation
import WardenGateway

/// Where an interrupted run stopped: found in its output file for `--resume`.
public struct ResumePoint: Equatable, Sendable {
    /// The input record number of the last complete output record (0: none yet).
    public var lastRecord: Int
    /// Bytes of the output file that hold complete records (a partly written last record is cut off).
    public var validLength: Int64
    /// Complete records that failed to score (`scoring_failed`): `--resume` scores them again.
    public var failedToScore: Int

    public init(lastRecord: Int, validLength: Int64, failedToScore: Int = 0) {
        self.lastRecord = lastRecord
        self.validLength = validLength
        self.failedToScore = failedToScore
    }

    /// Reads the output file `path` (format `format`). A missing or empty file resumes from the start.
    /// - Throws: ``ScoreIOError`` when the file cannot be read or its last complete record is not one
    ///   written by `warden score` in that format.
    public static func find(path: String, format: OutputFormat) throws -> ResumePoint {
        guard FileManager.default.fileExists(atPath: path) else { return ResumePoint(lastRecord: 0, validLength: 0) }
        let source = try ByteSource(path: path)
        guard let size = source.knownSize, size > 0 else { return ResumePoint(lastRecord: 0, validLength: 0) }
        let endsWithNewline: Bool = {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            defer { close(fd) }
            var last: UInt8 = 0
            return pread(fd, &last, 1, off_t(size - 1)) == 1 && last == 0x0A
        }()
        let scanner = try OutputScanner(source: source, format: format)
        // The last two records: the very last may be partial.
        var previous: OutputScanner.Entry?
        var last: OutputScanner.Entry?
        var failed = 0
        while let entry = try scanner.next() {
            if let last, last.failedToScore { failed += 1 }
            previous = last
            last = entry
        }
        let complete = endsWithNewline ? last : previous
        if endsWithNewline, let last, last.failedToScore { failed += 1 }
        guard let complete else { return ResumePoint(lastRecord: 0, validLength: scanner.headerLength) }
        guard let number = complete.number else {
            throw ScoreIOError(
                "cannot resume into \(path): its last complete line (\(complete.line)) is not a record written by warden score as \(format.rawValue)")
        }
        return ResumePoint(lastRecord: number, validLength: complete.range.upperBound, failedToScore: failed)
    }
}

/// Reads the records of a `warden score` output file in order: each one's input record number, its bytes in the
/// file, and whether it is a `scoring_failed` error record.
final class OutputScanner {
    struct Entry {
        /// The `record` it holds; nil when the line is not a record of `warden score` output.
        var number: Int?
        /// Where it lies in the file, its newline included.
        var range: Range<Int64>
        var failedToScore: Bool
        /// The line of the file it starts on.
        var line: Int
    }

    let path: String
    let format: OutputFormat
    /// Bytes of the CSV header (0 for JSON Lines).
    let headerLength: Int64
    private let reader: RecordReader
    private var end: Int64

    /// - Throws: ``ScoreIOError`` when the file is gzip-compressed or is not CSV output of `warden score`.
    init(source: ByteSource, format: OutputFormat) throws {
        path = source.path
        self.format = format
        if source.isGzip { throw ScoreIOError("cannot resume into \(path): it is gzip-compressed") }
        switch format {
        case .jsonl:
            reader = try RecordReader(source: source, settings: ReaderSettings(format: .text, maxRecordBytes: Int.max / 4))
            headerLength = 0
        case .csv:
            do {
                reader = try RecordReader(source: source, settings: ReaderSettings(format: .csv, textColumn: "record", maxRecordBytes: Int.max / 4))
            } catch {
                throw ScoreIOError("cannot resume into \(source.path): it is not CSV output of warden score (\(error))")
            }
            headerLength = Self.csvHeaderLength(path: source.path)
        }
        end = headerLength
    }

    convenience init(path: String, format: OutputFormat) throws {
        try self.init(source: ByteSource(path: path), format: format)
    }

    func next() throws -> Entry? {
        guard let record = try reader.next() else { return nil }
        let range = end..<record.inputOffset
        end = record.inputOffset
        var number: Int?
        var failed = false
        switch format {
        case .csv:
            number = record.text.flatMap { Int($0) }
            if case .string(let error)? = record.fields.first(where: { $0.name == "error" })?.value {
                failed = error.hasPrefix("scoring_failed:")
            }
        case .jsonl:
            guard var text = record.text else { break }
            text.withUTF8 { bytes in
                guard let members = try? JSONScanner.members(of: bytes) else { return }
                func value(_ key: String, in members: [JSONScanner.Member], of bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
                    members.first(where: { $0.key == key }).map { UnsafeBufferPointer(rebasing: bytes[$0.value]) }
                }
                number = value("record", in: members, of: bytes).flatMap { Int(String(decoding: $0, as: UTF8.self)) }
                if let error = value("error", in: members, of: bytes), let inner = try? JSONScanner.members(of: error),
                    let code = value("code", in: inner, of: error)
                {
                    failed = (try? JSONScanner.decodeString(code)) == "scoring_failed"
                }
            }
        }
        return Entry(number: number, range: range, failedToScore: failed, line: record.line)
    }

    private static func csvHeaderLength(path: String) -> Int64 {
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: 1 << 16) else { return 0 }
        if let newline = data.firstIndex(of: 0x0A) { return Int64(newline - data.startIndex + 1) }
        return 0
    }
}

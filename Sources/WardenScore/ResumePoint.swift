import Foundation

/// Where an interrupted run stopped: found in its output file for `--resume`.
public struct ResumePoint: Equatable, Sendable {
    /// The input record number of the last complete output record (0: none yet).
    public var lastRecord: Int
    /// Bytes of the output file that hold complete records (a partly written last record is cut off).
    public var validLength: Int64

    /// Reads the output file `path` (format `format`). A missing or empty file resumes from the start.
    /// - Throws: ``ScoreIOError`` when the file cannot be read or its last complete record is not one
    ///   written by `warden score` in that format.
    public static func find(path: String, format: OutputFormat) throws -> ResumePoint {
        guard FileManager.default.fileExists(atPath: path) else { return ResumePoint(lastRecord: 0, validLength: 0) }
        let source = try ByteSource(path: path)
        guard let size = source.knownSize, size > 0 else { return ResumePoint(lastRecord: 0, validLength: 0) }
        if source.isGzip { throw ScoreIOError("cannot resume into \(path): it is gzip-compressed") }
        let endsWithNewline: Bool = {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            defer { close(fd) }
            var last: UInt8 = 0
            return pread(fd, &last, 1, off_t(size - 1)) == 1 && last == 0x0A
        }()
        let settings: ReaderSettings
        switch format {
        case .jsonl: settings = ReaderSettings(format: .text, maxRecordBytes: Int.max / 4)
        case .csv: settings = ReaderSettings(format: .csv, textColumn: "record", maxRecordBytes: Int.max / 4)
        }
        let reader: RecordReader
        do {
            reader = try RecordReader(source: source, settings: settings)
        } catch {
            throw ScoreIOError("cannot resume into \(path): it is not CSV output of warden score (\(error))")
        }
        // The last two records: the very last may be partial.
        var previous: InputRecord?
        var last: InputRecord?
        while let record = try reader.next() {
            previous = last
            last = record
        }
        let headerLength: Int64 = format == .csv ? Self.csvHeaderLength(path: path) : 0
        let complete = endsWithNewline ? last : previous
        guard let complete else { return ResumePoint(lastRecord: 0, validLength: headerLength) }
        let number: Int?
        switch format {
        case .csv:
            number = complete.text.flatMap { Int($0) }
        case .jsonl:
            number = complete.text.flatMap { text -> Int? in
                var text = text
                return text.withUTF8 { bytes -> Int? in
                    guard let members = try? JSONLineScanner.members(of: bytes),
                          let member = members.first(where: { $0.key == "record" }) else { return nil }
                    return Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[member.value]), as: UTF8.self))
                }
            }
        }
        guard let number else {
            throw ScoreIOError("cannot resume into \(path): its last complete line (\(complete.line)) is not a record written by warden score as \(format.rawValue)")
        }
        return ResumePoint(lastRecord: number, validLength: complete.inputOffset)
    }

    private static func csvHeaderLength(path: String) -> Int64 {
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: 1 << 16) else { return 0 }
        if let newline = data.firstIndex(of: 0x0A) { return Int64(newline - data.startIndex + 1) }
        return 0
    }
}

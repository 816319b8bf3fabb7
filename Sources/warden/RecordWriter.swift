import Foundation
import WardenCore

/// Output formats of `warden score`.
enum OutputFormat: String, CaseIterable, Sendable {
    case jsonl, csv

    /// CSV for a `.csv` (or `.csv.gz`-less) file name, JSON Lines otherwise.
    static func guess(path: String) -> OutputFormat {
        path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
    }
}

/// What each output record holds besides the scores.
struct OutputLayout: Sendable {
    var format: OutputFormat
    var labels: [String]
    /// CSV output: the carried columns, in order (CSV input: its other columns; JSON Lines input: the id
    /// field; text input: none).
    var carriedColumns: [String]
    var includeText: Bool
}

/// Writes one output record per input record, in the order given, through a buffer flushed with write(2).
///
/// JSON Lines: `{"record":N,"line":L,<carried fields>,"text":…,"scores":{label:p},"flags":{label:bool},"flagged":bool}`,
/// or `{"record":N,"line":L,<carried fields>,"error":{"code":…,"message":…}}` for a bad record. A carried
/// field whose name is one of `record`, `line`, `text`, `scores`, `flags`, `flagged`, `error` is written as
/// `input_<name>`.
///
/// CSV: a header `record,line,<carried…>,[text,]<label>…,<label>_flagged…,flagged,error`, then one row per record.
///
/// - Important: not thread-safe; one task writes at a time.
final class RecordWriter {
    let path: String
    let layout: OutputLayout
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private static let flushAt = 256 * 1024
    private static let reserved: Set<String> = ["record", "line", "text", "scores", "flags", "flagged", "error"]
    private let labelKeys: [[UInt8]]
    private let carriedIndex: [String: Int]

    /// Opens `path` ("-" is standard output). With `appendFrom`, the file is cut to that many bytes and
    /// appended to (resume); otherwise it is created or truncated.
    /// - Throws: ``ScoreIOError`` naming the path.
    init(path: String, layout: OutputLayout, appendFrom: Int64? = nil) throws {
        self.path = path
        self.layout = layout
        labelKeys = layout.labels.map { Array(Self.jsonString($0).utf8) }
        carriedIndex = Dictionary(layout.carriedColumns.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (appendFrom == nil ? O_TRUNC : 0)
            let opened = open(path, flags, 0o644)
            guard opened >= 0 else { throw ScoreIOError.posix("write the output", path) }
            if let appendFrom {
                guard ftruncate(opened, off_t(appendFrom)) == 0, lseek(opened, 0, SEEK_END) >= 0 else {
                    close(opened)
                    throw ScoreIOError.posix("resume the output", path)
                }
            }
            fd = opened
            ownsDescriptor = true
        }
        buffer.reserveCapacity(Self.flushAt + 64 * 1024)
        if layout.format == .csv, (appendFrom ?? 0) == 0 {
            var header = ["record", "line"] + layout.carriedColumns.map { Self.reserved.contains($0) ? "input_\($0)" : $0 }
            if layout.includeText { header.append("text") }
            header += layout.labels + layout.labels.map { "\($0)_flagged" } + ["flagged", "error"]
            appendCSVRow(header)
        }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Appends one record (scored, or with `error`).
    func write(_ record: InputRecord, result: ModerationResult?, error: RecordError?) throws {
        switch layout.format {
        case .jsonl: appendJSON(record, result: result, error: error)
        case .csv: appendCSV(record, result: result, error: error)
        }
        if buffer.count >= Self.flushAt { try flush() }
    }

    /// Writes out everything buffered.
    func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ScoreIOError.posix("write the output", path == "-" ? "(standard output)" : path)
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    // MARK: JSON Lines

    private func appendJSON(_ record: InputRecord, result: ModerationResult?, error: RecordError?) {
        append("{\"record\":")
        append(String(record.number))
        append(",\"line\":")
        append(String(record.line))
        for field in record.fields {
            append(",")
            append(Self.jsonString(Self.reserved.contains(field.name) ? "input_\(field.name)" : field.name))
            append(":")
            switch field.value {
            case .json(let raw): buffer.append(contentsOf: raw)
            case .string(let string): append(Self.jsonString(string))
            }
        }
        if layout.includeText, let text = record.text {
            append(",\"text\":")
            append(Self.jsonString(text))
        }
        if let result, error == nil {
            append(",\"scores\":{")
            for (index, score) in result.scores.enumerated() {
                if index > 0 { append(",") }
                buffer.append(contentsOf: labelKeys[index])
                append(":")
                append(Self.number(score))
            }
            append("},\"flags\":{")
            for (index, flag) in result.flags.enumerated() {
                if index > 0 { append(",") }
                buffer.append(contentsOf: labelKeys[index])
                append(flag ? ":true" : ":false")
            }
            append(result.flagged ? "},\"flagged\":true}\n" : "},\"flagged\":false}\n")
        } else {
            let error = error ?? RecordError(code: "scoring_failed", message: "no result")
            append(",\"error\":{\"code\":")
            append(Self.jsonString(error.code))
            append(",\"message\":")
            append(Self.jsonString(error.message))
            append("}}\n")
        }
    }

    // MARK: CSV

    private func appendCSV(_ record: InputRecord, result: ModerationResult?, error: RecordError?) {
        var cells = [String(record.number), String(record.line)]
        var carried = [String](repeating: "", count: layout.carriedColumns.count)
        for field in record.fields {
            guard let index = carriedIndex[field.name] else { continue }
            switch field.value {
            case .string(let string): carried[index] = string
            case .json(let raw): carried[index] = String(decoding: raw, as: UTF8.self)
            }
        }
        cells += carried
        if layout.includeText { cells.append(record.text ?? "") }
        if let result, error == nil {
            cells += result.scores.map(Self.number)
            cells += result.flags.map { $0 ? "true" : "false" }
            cells.append(result.flagged ? "true" : "false")
            cells.append("")
        } else {
            let error = error ?? RecordError(code: "scoring_failed", message: "no result")
            cells += [String](repeating: "", count: 2 * layout.labels.count + 1)
            cells.append("\(error.code): \(error.message)")
        }
        appendCSVRow(cells)
    }

    private func appendCSVRow(_ cells: [String]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            if cell.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
                buffer.append(UInt8(ascii: "\""))
                for byte in cell.utf8 {
                    if byte == UInt8(ascii: "\"") { buffer.append(byte) }
                    buffer.append(byte)
                }
                buffer.append(UInt8(ascii: "\""))
            } else {
                append(cell)
            }
        }
        buffer.append(0x0A)
    }

    // MARK: Encoding helpers

    @inline(__always) private func append(_ string: String) {
        buffer.append(contentsOf: string.utf8)
    }

    static func number(_ value: Float) -> String {
        value.isFinite ? "\(value)" : "null"
    }

    /// `string` as a JSON string literal (quotes included).
    static func jsonString(_ string: String) -> String {
        var needsEscape = false
        for byte in string.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape { return "\"\(string)\"" }
        var out: [UInt8] = [0x22]
        out.reserveCapacity(string.utf8.count + 8)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in string.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20: out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where an interrupted run stopped: found in its output file for `--resume`.
struct ResumePoint: Equatable {
    /// The input record number of the last complete output record (0: none yet).
    var lastRecord: Int
    /// Bytes of the output file that hold complete records (a partly written last record is cut off).
    var validLength: Int64

    /// Reads the output file `path` (format `format`). A missing or empty file resumes from the start.
    /// - Throws: ``ScoreIOError`` when the file cannot be read or its last complete record is not one
    ///   written by `warden score` in that format.
    static func find(path: String, format: OutputFormat) throws -> ResumePoint {
        guard FileManager.default.fileExists(atPath: path) else { return ResumePoint(lastRecord: 0, validLength: 0) }
        let source = try ScoreByteSource(path: path)
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

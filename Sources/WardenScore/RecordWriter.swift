import Foundation
import WardenCore
import WordPiece

/// Writes one output record per input record, in the order given, through a buffer flushed with write(2).
///
/// JSON Lines: `{"record":N,"line":L,<carried fields>,"text":…,"scores":{label:p},"flags":{label:bool},"flagged":bool,"truncated":bool}`
/// (`truncated`: part of a long text was not scored; with `--explain`, a flagged record also has
/// `"highlights":{label:[{"start","end","text","drop"}]}` after `flagged`),
/// or `{"record":N,"line":L,<carried fields>,"error":{"code":…,"message":…}}` for a bad record. A carried
/// field whose name is one of `record`, `line`, `text`, `scores`, `flags`, `flagged`, `highlights`, `truncated`, `error` is written as
/// `input_<name>`.
///
/// CSV: a header `record,line,<carried…>,[text,]<label>…,<label>_flagged…,flagged,truncated,error`, then one row per record.
///
/// - Important: not thread-safe; one task writes at a time.
public final class RecordWriter {
    /// The output path as given ("-": standard output).
    public let path: String
    /// What each record holds.
    public let layout: OutputLayout
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private static let flushAt = 256 * 1024
    private static let reserved: Set<String> = ["record", "line", "text", "scores", "flags", "flagged", "highlights", "truncated", "error"]
    private let labelKeys: [[UInt8]]
    private let carriedIndex: [String: Int]

    /// Opens `path` ("-" is standard output). With `appendFrom`, the file is cut to that many bytes and
    /// appended to (resume); otherwise it is created or truncated.
    /// - Throws: ``ScoreIOError`` naming the path.
    public init(path: String, layout: OutputLayout, appendFrom: Int64? = nil) throws {
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
            header += layout.labels + layout.labels.map { "\($0)_flagged" } + ["flagged", "truncated", "error"]
            appendCSVRow(header)
        }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Checks that `path` can be opened for writing (creating it if missing, leaving its content alone),
    /// so that a bad output path fails before the model loads.
    /// - Throws: ``ScoreIOError`` naming the path.
    public static func checkWritable(path: String) throws {
        let probe = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard probe >= 0 else { throw ScoreIOError.posix("write the output", path) }
        close(probe)
    }

    /// Appends one record (scored, or with `error`).
    public func write(_ record: InputRecord, result: Moderator.Result?, error: RecordError?, explanation: Moderator.Explanation? = nil) throws {
        switch layout.format {
        case .jsonl: appendJSON(record, result: result, error: error, explanation: explanation)
        case .csv: appendCSV(record, result: result, error: error)
        }
        if buffer.count >= Self.flushAt { try flush() }
    }

    /// Appends bytes that are already output records (copied from an earlier output by `--resume`).
    func writeVerbatim(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushAt { try flush() }
    }

    /// Writes out everything buffered and asks the system to put it on disk (before the file is renamed into place).
    public func synchronize() throws {
        try flush()
        guard ownsDescriptor else { return }
        guard fsync(fd) == 0 || errno == EINVAL else { throw ScoreIOError.posix("write the output", path) }
    }

    /// Writes out everything buffered.
    public func flush() throws {
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

    private func appendJSON(_ record: InputRecord, result: Moderator.Result?, error: RecordError?, explanation: Moderator.Explanation?) {
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
            append(result.flagged ? "},\"flagged\":true" : "},\"flagged\":false")
            if let explanation { appendHighlights(explanation, flags: result.flags) }
            append(result.truncated ? ",\"truncated\":true}\n" : ",\"truncated\":false}\n")
        } else {
            let error = error ?? RecordError(code: "scoring_failed", message: "no result")
            append(",\"error\":{\"code\":")
            append(Self.jsonString(error.code))
            append(",\"message\":")
            append(Self.jsonString(error.message))
            append("}}\n")
        }
    }

    /// `,"highlights":{label:[{"start","end","text","drop"}]}` for the flagged labels: UTF-16 offsets of the
    /// record's text, as the API gives them.
    private func appendHighlights(_ explanation: Moderator.Explanation, flags: [Bool]) {
        append(",\"highlights\":{")
        var first = true
        for label in flags.indices where flags[label] {
            if !first { append(",") }
            first = false
            buffer.append(contentsOf: labelKeys[label])
            append(":[")
            for (index, item) in explanation.highlights(label: label).enumerated() {
                if index > 0 { append(",") }
                append("{\"start\":\(item.unit.utf16.lowerBound),\"end\":\(item.unit.utf16.upperBound),\"text\":")
                append(Self.jsonString(item.unit.text))
                append(",\"drop\":")
                append(Self.number(item.drop))
                append("}")
            }
            append("]")
        }
        append("}")
    }

    // MARK: CSV

    private func appendCSV(_ record: InputRecord, result: Moderator.Result?, error: RecordError?) {
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
            cells.append(result.truncated ? "true" : "false")
            cells.append("")
        } else {
            let error = error ?? RecordError(code: "scoring_failed", message: "no result")
            cells += [String](repeating: "", count: 2 * layout.labels.count + 2)
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

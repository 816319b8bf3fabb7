import Foundation
import WardenGateway
import WordPiece

/// Splits the input into records and parses each (text, JSON Lines or CSV), holding at most one read
/// buffer plus one record in memory.
///
/// - Important: not thread-safe; one task reads it at a time.
public final class RecordReader {
    /// The format and field names this reader was opened with.
    public let settings: ReaderSettings
    let source: ByteSource
    /// The CSV header's column names (CSV input only).
    public private(set) var csvHeader: [String] = []
    private var textColumnIndex = 0

    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var scanFrom = 0
    private var inQuotes = false
    private var newlinesInRecord = 0
    private var eof = false
    private var nextLine = 1
    private var recordCount = 0
    private var decodedBefore: Int64 = 0
    private var atFileStart = true

    private static let readSize = 1 << 20

    /// Opens `path` ("-" is standard input; gzip is recognised by its first bytes) and, for CSV, reads
    /// the header.
    /// - Throws: ``ScoreIOError`` naming the path when it cannot be opened or read, or when a CSV input
    ///   has no header or lacks the text column.
    public convenience init(path: String, settings: ReaderSettings) throws {
        try self.init(source: ByteSource(path: path), settings: settings)
    }

    /// - Throws: ``ScoreIOError`` when a CSV input has no header or lacks the text column.
    init(source: ByteSource, settings: ReaderSettings) throws {
        self.source = source
        self.settings = settings
        buffer = [UInt8](repeating: 0, count: Self.readSize * 2)
        if settings.format == .csv {
            guard let header = try nextRaw() else {
                csvHeader = []
                return
            }
            let fields: [String]
            switch header.kind {
            case .normal(let range):
                fields = try buffer.withUnsafeBufferPointer { (all) throws -> [String] in
                    var bytes = UnsafeBufferPointer(rebasing: all[range])
                    if bytes.last == 0x0D { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
                    guard (try? WordPieceTokenizer.decodeUTF8(bytes)) != nil else {
                        throw ScoreIOError("the CSV header of \(source.path) is not valid UTF-8")
                    }
                    switch Self.csvFields(bytes) {
                    case .success(let fields): return fields
                    case .failure(let error): throw ScoreIOError("the CSV header of \(source.path) is malformed: \(error.message)")
                    }
                }
            default:
                throw ScoreIOError("the CSV header of \(source.path) is malformed or too long")
            }
            guard let index = fields.firstIndex(of: settings.textColumn) else {
                throw ScoreIOError(
                    "the CSV header of \(source.path) has no column '\(settings.textColumn)' (columns: \(fields.joined(separator: ", "))); name the text column with --text-column"
                )
            }
            csvHeader = fields
            textColumnIndex = index
        }
    }

    /// The input fields carried into CSV output as columns: the CSV input's other columns, the id field of
    /// JSON Lines, none for text.
    public var carriedColumns: [String] {
        switch settings.format {
        case .text: []
        case .jsonl: [settings.idField]
        case .csv: csvHeader.enumerated().filter { $0.offset != csvHeader.firstIndex(of: settings.textColumn) }.map(\.element)
        }
    }

    /// Whether the CSV input was empty (not even a header).
    var csvIsEmpty: Bool { settings.format == .csv && csvHeader.isEmpty }

    /// Bytes of the input file consumed so far (compressed bytes for gzip input; approximate then).
    var bytesRead: Int64 { source.rawBytesRead }

    // MARK: - Records

    /// The next record, or nil at the end of the input.
    /// - Throws: ``ScoreIOError`` when the input cannot be read (I/O error, corrupt gzip).
    public func next() throws -> InputRecord? {
        if csvIsEmpty { return nil }
        while let raw = try nextRaw() {
            switch raw.kind {
            case .tooLong(let bytes):
                recordCount += 1
                return InputRecord(
                    number: recordCount, line: raw.line, text: nil, fields: [],
                    error: RecordError(
                        code: "record_too_long",
                        message: "the record is \(bytes) bytes or more; the limit is \(settings.maxRecordBytes) (--max-record-bytes)"),
                    inputOffset: raw.offset)
            case .unterminatedQuote:
                recordCount += 1
                return InputRecord(
                    number: recordCount, line: raw.line, text: nil, fields: [],
                    error: RecordError(code: "malformed_csv", message: "a quoted field is not closed before the end of the input"),
                    inputOffset: raw.offset)
            case .normal(let range):
                let parsed: InputRecord? = buffer.withUnsafeBufferPointer { all in
                    parse(UnsafeBufferPointer(rebasing: all[range]), line: raw.line, offset: raw.offset)
                }
                if let parsed { return parsed }
            }
        }
        return nil
    }

    /// Skips the next record without parsing it; false at the end of the input. Used by `--resume`.
    public func skip() throws -> Bool {
        if csvIsEmpty { return false }
        while let raw = try nextRaw() {
            if case .normal(let range) = raw.kind, isBlank(range) { continue }
            recordCount += 1
            return true
        }
        return false
    }

    private func isBlank(_ range: Range<Int>) -> Bool {
        buffer.withUnsafeBufferPointer { all in isBlank(Self.withoutCR(UnsafeBufferPointer(rebasing: all[range]))) }
    }

    /// A record's bytes without the `\r` of a `\r\n` line end.
    private static func withoutCR(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if let last = bytes.last, last == 0x0D { return UnsafeBufferPointer(rebasing: bytes[..<(bytes.count - 1)]) }
        return bytes
    }

    /// Whether a line (its `\r\n` end removed) is blank, so not a record: in JSON Lines only spaces and tabs,
    /// in CSV nothing. The one rule of `next()` and `skip()`, so that `--resume` skips what a first run read.
    private func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch settings.format {
        case .text: false
        case .csv: bytes.isEmpty
        case .jsonl: bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 }
        }
    }

    /// Parses one record's bytes; nil for a blank line of JSON Lines or CSV (not a record).
    private func parse(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, offset: Int64) -> InputRecord? {
        let bytes = Self.withoutCR(bytes)
        if isBlank(bytes) { return nil }
        recordCount += 1
        var record = InputRecord(number: recordCount, line: line, text: nil, fields: [], error: nil, inputOffset: offset)
        func fail(_ code: String, _ message: String) -> InputRecord {
            record.error = RecordError(code: code, message: message)
            return record
        }
        let decoded: String
        do {
            decoded = try WordPieceTokenizer.decodeUTF8(bytes)
        } catch {
            return fail("invalid_utf8", "invalid UTF-8 at byte \(error.byteOffset) of the record")
        }
        switch settings.format {
        case .text:
            record.text = decoded
        case .jsonl:
            let members: [JSONScanner.Member]
            do {
                members = try JSONScanner.members(of: bytes)
            } catch {
                // The same rules as a request body over HTTP or NATS, under the same codes.
                return fail(error.kind == .duplicateKey ? "duplicate_key" : "invalid_json", error.description)
            }
            var textValue: Range<Int>?
            for member in members {
                if member.key == settings.textField {
                    textValue = member.value
                    continue
                }
                let raw = UnsafeBufferPointer(rebasing: bytes[member.value])
                if raw.first == UInt8(ascii: "\""), let string = try? JSONScanner.decodeString(raw) {
                    record.fields.append(CarriedField(name: member.key, value: .string(string)))
                } else {
                    record.fields.append(CarriedField(name: member.key, value: .json(Array(raw))))
                }
            }
            guard let textValue else {
                return fail("missing_field", "no '\(settings.textField)' member (name it with --text-field)")
            }
            let raw = UnsafeBufferPointer(rebasing: bytes[textValue])
            guard raw.first == UInt8(ascii: "\""), let text = try? JSONScanner.decodeString(raw) else {
                return fail("invalid_field", "'\(settings.textField)' is not a string")
            }
            record.text = text
        case .csv:
            switch Self.csvFields(bytes) {
            case .failure(let error):
                return fail("malformed_csv", error.message)
            case .success(let cells):
                guard cells.count == csvHeader.count else {
                    if cells.count <= textColumnIndex {
                        return fail("missing_field", "the record has \(cells.count) fields, the header \(csvHeader.count); no '\(settings.textColumn)' value")
                    }
                    return fail("malformed_csv", "the record has \(cells.count) fields but the header has \(csvHeader.count)")
                }
                for (index, cell) in cells.enumerated() {
                    if index == textColumnIndex {
                        record.text = cell
                    } else {
                        record.fields.append(CarriedField(name: csvHeader[index], value: .string(cell)))
                    }
                }
            }
        }
        if let text = record.text, text.allSatisfy(\.isWhitespace) {
            record.text = nil
            return fail("empty_text", "the text is empty")
        }
        return record
    }

    struct CSVFailure: Error { var message: String }

    /// The fields of one CSV record (RFC 4180: `"` quotes, `""` inside quotes; the record's terminator
    /// already removed). A quote inside an unquoted field is kept as text.
    static func csvFields(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[String], CSVFailure> {
        var fields: [String] = []
        var i = 0
        let n = bytes.count
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        while true {
            if i < n, bytes[i] == quote {
                var cell: [UInt8] = []
                i += 1
                var closed = false
                while i < n {
                    if bytes[i] == quote {
                        if i + 1 < n, bytes[i + 1] == quote {
                            cell.append(quote)
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    cell.append(bytes[i])
                    i += 1
                }
                guard closed else { return .failure(CSVFailure(message: "a quoted field is not closed")) }
                fields.append(String(decoding: cell, as: UTF8.self))
                if i == n { return .success(fields) }
                guard bytes[i] == comma else {
                    return .failure(CSVFailure(message: "unexpected character after a closing quote at byte \(i)"))
                }
                i += 1
            } else {
                let cellStart = i
                while i < n, bytes[i] != comma { i += 1 }
                fields.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[cellStart..<i]), as: UTF8.self))
                if i == n { return .success(fields) }
                i += 1
            }
        }
    }

    // MARK: - Splitting

    private struct RawRecord {
        enum Kind {
            case normal(Range<Int>)
            case tooLong(Int)
            case unterminatedQuote
        }
        var kind: Kind
        var line: Int
        var offset: Int64
    }

    /// Finds the next record's bytes in the buffer (reading more as needed): a line, or for CSV a
    /// record whose quoted fields may span lines.
    private func nextRaw() throws -> RawRecord? {
        var dropped = 0  // bytes of an over-long record already thrown away
        while true {
            if atFileStart {
                // Skip a UTF-8 byte order mark.
                if end - start < 3, !eof {
                    try fill()
                    continue
                }
                if end - start >= 3, buffer[start] == 0xEF, buffer[start + 1] == 0xBB, buffer[start + 2] == 0xBF {
                    start += 3
                    scanFrom = start
                }
                atFileStart = false
            }
            if let terminator = findTerminator() {
                let line = nextLine
                nextLine += 1 + newlinesInRecord
                newlinesInRecord = 0
                let range = start..<terminator
                start = terminator + 1
                scanFrom = start
                let offset = decodedBefore + Int64(start)
                if dropped > 0 || range.count > settings.maxRecordBytes {
                    return RawRecord(kind: .tooLong(dropped + range.count), line: line, offset: offset)
                }
                return RawRecord(kind: .normal(range), line: line, offset: offset)
            }
            if end - start > settings.maxRecordBytes {
                // Too long: forget the bytes so far, keep looking for the end of the record.
                dropped += end - start
                start = end
                scanFrom = end
                inQuotes = false  // a runaway quote would swallow the rest of the file: resync at the next line
            }
            if eof {
                guard start < end || dropped > 0 else { return nil }
                let line = nextLine
                let range = start..<end
                start = end
                scanFrom = end
                let offset = decodedBefore + Int64(end)
                if dropped > 0 || range.count > settings.maxRecordBytes {
                    return RawRecord(kind: .tooLong(dropped + range.count), line: line, offset: offset)
                }
                if inQuotes {
                    inQuotes = false
                    return RawRecord(kind: .unterminatedQuote, line: line, offset: offset)
                }
                return RawRecord(kind: .normal(range), line: line, offset: offset)
            }
            try fill()
        }
    }

    /// The index of the newline ending the record that starts at `start`, scanning from `scanFrom`.
    private func findTerminator() -> Int? {
        if settings.format != .csv {
            let found: Int? = buffer.withUnsafeBufferPointer { all in
                guard scanFrom < end else { return nil }
                let base = all.baseAddress! + scanFrom
                guard let hit = memchr(base, 0x0A, end - scanFrom) else { return nil }
                return scanFrom + (UnsafeRawPointer(hit) - UnsafeRawPointer(base))
            }
            scanFrom = found ?? end
            return found
        }
        var i = scanFrom
        while i < end {
            let c = buffer[i]
            if c == UInt8(ascii: "\"") {
                inQuotes.toggle()
            } else if c == 0x0A {
                if !inQuotes {
                    scanFrom = i
                    return i
                }
                newlinesInRecord += 1
            }
            i += 1
        }
        scanFrom = end
        return nil
    }

    /// Reads more input after the unconsumed bytes, moving them to the front first.
    private func fill() throws {
        if start > 0 {
            let count = end - start
            if count > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: count)
                }
            }
            decodedBefore += Int64(start)
            scanFrom -= start
            end = count
            start = 0
        }
        if buffer.count - end < Self.readSize / 2 {
            buffer.append(contentsOf: repeatElement(0, count: Self.readSize))
        }
        let n = try buffer.withUnsafeMutableBytes { (raw) throws -> Int in
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        if n == 0 { eof = true } else { end += n }
    }
}

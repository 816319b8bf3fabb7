// libFuzzer entry point for the record readers of `warden score` (Sources/WardenScore/RecordReader.swift:
// text lines, JSON Lines, CSV; and ByteSource/GzipInflater under them), compiled by scripts/fuzz.sh into the
// module WardenScore together with the reader's source files, over the WordPiece and WardenGateway (JSONScanner)
// sources. See README.md beside this file for the properties checked.
//
// Input layout: byte 0 picks the format (text, jsonl, csv), byte 1 the record limit (maxRecordBytes), byte 2
// how many records a resumed reader skips; the rest is the input file.
import Foundation
import WardenGateway
import WordPiece

func violation(_ message: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Never {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    fatalError("RecordReader property violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
}

/// The file the reader opens; one per process, rewritten for each input.
let scratchPath = NSTemporaryDirectory() + "/warden-fuzz-records-\(getpid())"

func writeScratch(_ bytes: UnsafeBufferPointer<UInt8>) {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fatalError("cannot write \(scratchPath): \(String(cString: strerror(errno)))") }
    var written = 0
    while written < bytes.count {
        let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
        guard n > 0 else { fatalError("cannot write \(scratchPath)") }
        written += n
    }
    close(fd)
}

/// Every record of a reader on the scratch file, after skipping `skip` of them; nil when the reader cannot be
/// opened (a CSV header without the text column, say); the error that stopped the reading, if any.
func read(_ settings: ReaderSettings, skipping skip: Int = 0) -> (reader: RecordReader, records: [InputRecord], error: ScoreIOError?)? {
    let reader: RecordReader
    do { reader = try RecordReader(path: scratchPath, settings: settings) } catch { return nil }
    var records: [InputRecord] = []
    do {
        for _ in 0..<skip where try !reader.skip() { break }
        while let record = try reader.next() { records.append(record) }
    } catch let error as ScoreIOError {
        return (reader, records, error)
    } catch {
        fatalError("RecordReader threw \(type(of: error)), not ScoreIOError: \(error)")
    }
    return (reader, records, nil)
}

func same(_ a: InputRecord, _ b: InputRecord) -> Bool {
    a.number == b.number && a.line == b.line && a.text == b.text && a.fields == b.fields && a.error == b.error
        && a.inputOffset == b.inputOffset
}

/// One CSV record as RFC 4180 writes it: every field quoted, quotes doubled.
func csvLine(_ fields: [String]) -> [UInt8] {
    Array(fields.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",").utf8)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count)
    guard count >= 3 else { return 0 }
    let format = InputFormat.allCases[Int(input[0]) % 3]
    // Small limits make over-long records common; 255 stands for the default (1 MiB).
    let limit = input[1] == 255 ? 1 << 20 : Int(input[1]) + 1
    let skip = Int(input[2]) % 8
    let content = UnsafeBufferPointer(rebasing: input[3...])
    let settings = ReaderSettings(format: format, maxRecordBytes: limit)

    // csvFields is given valid UTF-8 only (the reader checks each record first): whatever it splits a line
    // into, quoting every field again and splitting that gives the same fields.
    if format == .csv, String(validating: content, as: UTF8.self) != nil,
        case .success(let fields) = RecordReader.csvFields(content)
    {
        let again = csvLine(fields).withUnsafeBufferPointer { RecordReader.csvFields($0) }
        guard case .success(let fields2) = again, fields2 == fields else {
            violation("csvFields does not read back its fields quoted: \(fields) then \(again)", input)
        }
    }

    writeScratch(content)
    guard let (reader, records, _) = read(settings) else { return 0 }

    // Numbers count records from 1; lines and offsets only go forward; the offset stays in the input.
    let isGzip = content.count >= 2 && content[0] == 0x1F && content[1] == 0x8B
    let headerBytes = reader.csvHeader.reduce(0) { $0 + $1.utf8.count }
    var previousLine = 0
    var previousOffset: Int64 = 0
    for (index, record) in records.enumerated() {
        if record.number != index + 1 { violation("record \(index + 1) is numbered \(record.number)", input) }
        if record.line <= previousLine { violation("record \(record.number) starts on line \(record.line), after line \(previousLine)", input) }
        if record.inputOffset < previousOffset || (!isGzip && record.inputOffset > Int64(content.count)) {
            violation("record \(record.number) ends at offset \(record.inputOffset) (previous \(previousOffset), input \(content.count))", input)
        }
        previousLine = record.line
        previousOffset = record.inputOffset
        // Either text or an error, and no text that is only white space.
        if (record.text == nil) == (record.error == nil) { violation("record \(record.number) has both or neither text and error", input) }
        if let text = record.text, text.allSatisfy(\.isWhitespace) { violation("record \(record.number) has blank text", input) }
        // A record holds at most its own bytes (plus, for CSV, the header's column names).
        let bound = limit + (format == .csv ? headerBytes : 0)
        if record.heldBytes > bound { violation("record \(record.number) holds \(record.heldBytes) bytes, over \(bound)", input) }
        if format == .csv, record.error == nil, record.fields.count != reader.csvHeader.count - 1 {
            violation("CSV record \(record.number) carries \(record.fields.count) fields for \(reader.csvHeader.count) columns", input)
        }
    }

    // `--resume` skips the records already scored, then reads on: the records after the skipped ones are the
    // same as in one pass.
    if skip > 0, let (_, resumed, _) = read(settings, skipping: skip) {
        let expected = Array(records.dropFirst(skip))
        if resumed.count != expected.count || !zip(resumed, expected).allSatisfy(same) {
            violation(
                "skipping \(skip) records then reading gives \(resumed.map { ($0.number, $0.line) }), one pass \(expected.map { ($0.number, $0.line) })", input)
        }
    }
    return 0
}

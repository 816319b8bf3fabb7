import Foundation
import Testing
import WardenScore
import WardenTestSupport

@Suite struct RecordReaderTests {
    // MARK: Plain text

    @Test("text: a record per line; blank lines are empty_text records; CRLF and a last line without newline")
    func plainText() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.txt", "first\r\n\nthird line\r\n   \nlast")
        let records = try readRecords(path, ReaderSettings(format: .text))
        #expect(records.map(\.number) == [1, 2, 3, 4, 5])
        #expect(records.map(\.line) == [1, 2, 3, 4, 5])
        #expect(records.map(\.text) == ["first", nil, "third line", nil, "last"])
        #expect(records.map(\.error?.code) == [nil, "empty_text", nil, "empty_text", nil])
        #expect(records.allSatisfy { $0.fields.isEmpty })
        // Each record knows where it ends in the input.
        #expect(records.map(\.inputOffset) == [7, 8, 20, 24, 28])
    }

    @Test("text: a final newline ends the last record instead of starting another; a UTF-8 BOM is dropped")
    func finalNewlineAndBOM() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.txt", bytes: [0xEF, 0xBB, 0xBF] + Array("one\ntwo\n".utf8))
        #expect(try readRecords(path, ReaderSettings(format: .text)).map(\.text) == ["one", "two"])
        #expect(try readRecords(try scratch.write("empty.txt", ""), ReaderSettings(format: .text)).isEmpty)
    }

    @Test("text: invalid UTF-8 is an error record with its line and byte offset; the next line reads on")
    func invalidUTF8() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.txt", bytes: Array("ok\n".utf8) + [0x62, 0x61, 0x64, 0x20, 0xC3, 0x28] + Array("\nfine\n".utf8))
        let records = try readRecords(path, ReaderSettings(format: .text))
        #expect(records.map(\.text) == ["ok", nil, "fine"])
        #expect(records[1].line == 2)
        #expect(records[1].error == RecordError(code: "invalid_utf8", message: "invalid UTF-8 at byte 4 of the record"))
    }

    @Test("a record over maxRecordBytes is a record_too_long error; the records around it are intact")
    func tooLong() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.txt", "short\n" + String(repeating: "x", count: 100) + "\nafter\n")
        let records = try readRecords(path, ReaderSettings(format: .text, maxRecordBytes: 16))
        #expect(records.map(\.text) == ["short", nil, "after"])
        #expect(records.map(\.line) == [1, 2, 3])
        #expect(
            records[1].error
                == RecordError(
                    code: "record_too_long",
                    message: "the record is 100 bytes or more; the limit is 16 (--max-record-bytes)"))
    }

    @Test("a record longer than the read buffer is skipped over, not held, and the next line still reads")
    func tooLongForTheBuffer() throws {
        let scratch = try TempFolder()
        let huge = String(repeating: "y", count: 3 << 20)
        let path = try scratch.write("in.txt", "a\n\(huge)\nb\n\(huge)")
        let records = try readRecords(path, ReaderSettings(format: .text, maxRecordBytes: 1024))
        #expect(records.map(\.text) == ["a", nil, "b", nil])
        #expect(records.map(\.error?.code) == [nil, "record_too_long", nil, "record_too_long"])
        #expect(records.map(\.line) == [1, 2, 3, 4])
    }

    // MARK: JSON Lines

    @Test("JSON Lines: the text field, other members carried in order (strings decoded, other values raw)")
    func jsonLines() throws {
        let scratch = try TempFolder()
        let path = try scratch.write(
            "in.jsonl",
            """
            {"id": 7, "body": "caf\\u00e9 \\"quoted\\"", "meta": {"tags": ["a"], "n": 1.5e3}, "user": "ana"}

            \t {"body":"second"} \r
            """)
        let records = try readRecords(path, ReaderSettings(format: .jsonl, textField: "body"))
        #expect(records.map(\.number) == [1, 2])
        #expect(records.map(\.line) == [1, 3])  // the blank line is not a record but keeps line numbers true
        #expect(records.map(\.text) == ["café \"quoted\"", "second"])
        #expect(records[0].fields.map(\.name) == ["id", "meta", "user"])
        #expect(records[0].field("id") == "json:7")
        #expect(records[0].field("meta") == #"json:{"tags": ["a"], "n": 1.5e3}"#)
        #expect(records[0].field("user") == "ana")
        #expect(records[1].fields.isEmpty)
    }

    @Test("JSON Lines: missing, non-string and empty text fields, malformed JSON, invalid UTF-8")
    func badJSONLines() throws {
        let scratch = try TempFolder()
        var bytes = Array(
            """
            {"id": 1}
            {"id": 2, "text": 5}
            {"id": 3, "text": " "}
            {"id": 4, "text": "oops"
            [1, 2]
            {"id": 6, "text": "fine"} trailing

            """.utf8)
        bytes += Array(#"{"id": 7, "text": "bad "#.utf8) + [0xFF] + Array("\"}\n".utf8)
        let records = try readRecords(try scratch.write("bad.jsonl", bytes: bytes), ReaderSettings(format: .jsonl))
        #expect(
            records.map(\.error?.code) == [
                "missing_field", "invalid_field", "empty_text", "invalid_json", "invalid_json",
                "invalid_json", "invalid_utf8",
            ])
        #expect(records.allSatisfy { $0.text == nil })
        #expect(records[0].error?.message == "no 'text' member (name it with --text-field)")
        #expect(records[1].error?.message == "'text' is not a string")
        #expect(records[3].error?.message == "expected ',' or '}' at byte 24")
        #expect(records[4].error?.message == "expected a JSON object at byte 0")
        #expect(records[5].error?.message == "unexpected text after the object at byte 26")
        // A record whose JSON was readable keeps its carried fields, for the error record.
        #expect(records[0].field("id") == "json:1")
        #expect(records[1].field("id") == "json:2")
        #expect(records[3].fields.isEmpty)
    }

    /// Found with the resume property of the RecordReader fuzz target (Fuzz/RecordReader): `skip()` took a JSON
    /// Lines line of blanks with a carriage return inside (`" \r \r\n"`, `"\r\r\n"`) for a blank line while
    /// `next()` reads it as a bad record, so `--resume` skipped one record too many and never scored it.
    @Test("JSON Lines: skip() and next() agree on which lines are records, so a resumed run reads on from the right one")
    func skipAgreesWithNext() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.jsonl", " \r \r\n\r\r\n \t\r\n{\"text\": \"a\"}\n\r\n{\"text\": \"b\"}\n")
        let settings = ReaderSettings(format: .jsonl)
        let all = try readRecords(path, settings)
        #expect(all.map(\.error?.code) == ["invalid_json", "invalid_json", nil, nil])
        #expect(all.map(\.text) == [nil, nil, "a", "b"])
        for skipped in 0...all.count {
            let reader = try RecordReader(path: path, settings: settings)
            for _ in 0..<skipped { #expect(try reader.skip()) }
            let rest = try reader.all()
            #expect(rest.map(\.number) == all.dropFirst(skipped).map(\.number), "after skipping \(skipped)")
            #expect(rest.map(\.text) == all.dropFirst(skipped).map(\.text), "after skipping \(skipped)")
        }
    }

    // MARK: CSV

    @Test("CSV: header, text column, quoted fields with commas, newlines and doubled quotes, quotes inside a plain field; records keep their first line")
    func csv() throws {
        let scratch = try TempFolder()
        let path = try scratch.write(
            "in.csv", "id,message,lang\r\n1,hello there,en\r\n2,\"multi\nline, with \"\"quotes\"\"\",fr\r\n\r\n3,\"\",de\n4,say \"hi\",it")
        let reader = try RecordReader(path: path, settings: ReaderSettings(format: .csv, textColumn: "message"))
        #expect(reader.csvHeader == ["id", "message", "lang"])
        #expect(reader.carriedColumns == ["id", "lang"])
        let records = try reader.all()
        #expect(records.map(\.number) == [1, 2, 3, 4])
        #expect(records.map(\.line) == [2, 3, 6, 7])
        #expect(records.map(\.text) == ["hello there", "multi\nline, with \"quotes\"", nil, "say \"hi\""])
        #expect(records[2].error?.code == "empty_text")
        #expect(records.map { $0.field("id") } == ["1", "2", "3", "4"])
        #expect(records.map { $0.field("lang") } == ["en", "fr", "de", "it"])
    }

    @Test("CSV: too few fields (no text), too many fields, text after a closing quote, a quote never closed")
    func badCSV() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("bad.csv", "text,id\nok,1\nonly\na,b,c\n\"x\"y,4\nfine,5\n\"never closed,6\n")
        let records = try readRecords(path, ReaderSettings(format: .csv))
        #expect(records.map(\.error?.code) == [nil, "malformed_csv", "malformed_csv", "malformed_csv", nil, "malformed_csv"])
        #expect(records.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(records[1].error?.message == "the record has 1 fields but the header has 2")
        #expect(records[2].error?.message == "the record has 3 fields but the header has 2")
        #expect(records[3].error?.message == "unexpected character after a closing quote at byte 3")
        #expect(records[5].error?.message == "a quoted field is not closed before the end of the input")

        let missing = try readRecords(try scratch.write("missing.csv", "id,text\n1\n"), ReaderSettings(format: .csv))
        #expect(missing.map(\.error) == [RecordError(code: "missing_field", message: "the record has 1 fields, the header 2; no 'text' value")])
    }

    @Test("CSV: a header without the text column fails at once, naming the columns; an empty file has no records")
    func csvHeader() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.csv", "id,body\n1,hi\n")
        let error = #expect(throws: ScoreIOError.self) { try RecordReader(path: path, settings: ReaderSettings(format: .csv)) }
        #expect(error?.description == "the CSV header of \(path) has no column 'text' (columns: id, body); name the text column with --text-column")

        let empty = try RecordReader(path: try scratch.write("empty.csv", ""), settings: ReaderSettings(format: .csv))
        #expect(empty.csvHeader.isEmpty && empty.carriedColumns.isEmpty)
        #expect(try empty.next() == nil)
        #expect(try empty.skip() == false)
    }

    @Test("carried columns: none for text, the id field for JSON Lines")
    func carriedColumns() throws {
        let scratch = try TempFolder()
        let path = try scratch.write("in.txt", "x\n")
        #expect(try RecordReader(path: path, settings: ReaderSettings(format: .text)).carriedColumns == [])
        #expect(try RecordReader(path: path, settings: ReaderSettings(format: .jsonl, idField: "key")).carriedColumns == ["key"])
    }

    // MARK: Gzip, paths

    @Test("gzip input is recognised by its first bytes, whatever the name; concatenated members read as one stream")
    func gzip() throws {
        let scratch = try TempFolder()
        let lines = (1...5000).map { "message \($0) with some words" }
        let path = try scratch.gzipFile(
            "input.data",
            members: [
                lines[..<2500].joined(separator: "\n") + "\n",
                lines[2500...].joined(separator: "\n") + "\n",
            ])
        let records = try readRecords(path, ReaderSettings(format: .text))
        #expect(records.map(\.text) == lines)
        #expect(records.last?.number == 5000)

        let json = try scratch.gzipFile("in.jsonl.gz", members: [#"{"text": "zipped", "id": 1}"# + "\n"])
        #expect(try readRecords(json, ReaderSettings(format: .jsonl)).map(\.text) == ["zipped"])
    }

    @Test("truncated or corrupt gzip input is a ScoreIOError naming the file")
    func brokenGzip() throws {
        let scratch = try TempFolder()
        let whole = try scratch.gzipFile("whole.gz", members: [(1...2000).map { "line \($0)" }.joined(separator: "\n")])
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: whole)))
        let truncated = try scratch.write("truncated.gz", bytes: Array(bytes.prefix(bytes.count / 2)))
        let cut = #expect(throws: ScoreIOError.self) { try readRecords(truncated, ReaderSettings(format: .text)) }
        #expect(cut?.description == "the gzip input \(truncated) ends early (truncated file?)")

        let corrupt = try scratch.write("corrupt.gz", bytes: [0x1F, 0x8B] + Array(repeating: 0x55, count: 64))
        let bad = #expect(throws: ScoreIOError.self) { try readRecords(corrupt, ReaderSettings(format: .text)) }
        #expect(bad?.description.hasPrefix("the gzip input \(corrupt) is corrupt") == true)
    }

    @Test("a missing file or a directory fails at once with the path")
    func wrongPaths() throws {
        let scratch = try TempFolder()
        let missing = #expect(throws: ScoreIOError.self) { try RecordReader(path: scratch.path("nope.txt"), settings: ReaderSettings(format: .text)) }
        #expect(missing?.description == "cannot read the input \(scratch.path("nope.txt")): No such file or directory")
        let directory = #expect(throws: ScoreIOError.self) { try RecordReader(path: scratch.url.path, settings: ReaderSettings(format: .text)) }
        #expect(directory?.description.hasSuffix("it is a directory") == true)
    }

    // MARK: Skip

    @Test("skip() passes records without parsing them (bad ones too, not blank JSON lines); numbering goes on")
    func skip() throws {
        let scratch = try TempFolder()
        let jsonl = try scratch.write("in.jsonl", "{\"text\": \"a\"}\n\n{broken\n  \n{\"text\": \"d\"}\n{\"text\": \"e\"}\n")
        let reader = try RecordReader(path: jsonl, settings: ReaderSettings(format: .jsonl))
        #expect(try reader.skip() && reader.skip())
        let rest = try reader.all()
        #expect(rest.map(\.number) == [3, 4])
        #expect(rest.map(\.line) == [5, 6])
        #expect(rest.map(\.text) == ["d", "e"])
        #expect(try reader.skip() == false)

        let text = try RecordReader(path: try scratch.write("in.txt", "a\n\nc\n"), settings: ReaderSettings(format: .text))
        #expect(try text.skip() && text.skip())  // a blank line is a (bad) record of plain text
        #expect(try text.next()?.text == "c")

        let csv = try RecordReader(path: try scratch.write("in.csv", "text\n\"x\ny\"\n\nz\n"), settings: ReaderSettings(format: .csv))
        #expect(try csv.skip())
        let last = try csv.next()
        #expect(last?.number == 2 && last?.line == 5 && last?.text == "z")
    }
}

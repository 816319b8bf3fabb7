import Foundation
import Testing
import WardenCore
import WardenScore
import WardenTestSupport

@Suite struct RecordWriterTests {
    let labels = ["toxic", "spam"]

    /// A scored record with carried fields, one of them named like an output key, and text that needs escaping.
    let scored = InputRecord(
        number: 1, line: 2, text: "hi, \"there\"\n\u{1}",
        fields: [
            CarriedField(name: "id", value: .json(Array("7".utf8))),
            CarriedField(name: "user", value: .string("ana")),
            CarriedField(name: "record", value: .string("theirs")),
        ])
    let result = Moderator.Result(scores: [0.25, 0.75], flags: [false, true], flagged: true, truncated: false, windows: 1, cached: false)
    let bad = InputRecord(
        number: 3, line: 5, text: nil, fields: [CarriedField(name: "id", value: .json(Array("8".utf8)))],
        error: RecordError(code: "invalid_utf8", message: "invalid UTF-8 at byte 4 of the record"))

    /// Writes `records` (record, result) to a fresh file with `layout` and returns its content.
    func written(_ layout: OutputLayout, _ records: [(InputRecord, Moderator.Result?)]) throws -> String {
        let scratch = try TempFolder()
        let writer = try RecordWriter(path: scratch.path("out"), layout: layout)
        for (record, result) in records { try writer.write(record, result: result, error: record.error) }
        try writer.flush()
        return try scratch.read("out")
    }

    @Test("JSON Lines: a scored record, an error record and a truncated one, carried fields in order, clashing names prefixed")
    func jsonLines() throws {
        let odd = Moderator.Result(scores: [0.125, .nan], flags: [false, false], flagged: false, truncated: true, windows: 16, cached: false)
        let out = try written(
            OutputLayout(format: .jsonl, labels: labels, carriedColumns: [], includeText: true),
            [(scored, result), (bad, nil), (InputRecord(number: 4, line: 6, text: "x"), odd)])
        #expect(
            out == """
                {"record":1,"line":2,"id":7,"user":"ana","input_record":"theirs","text":"hi, \\"there\\"\\n\\u0001","scores":{"toxic":0.25,"spam":0.75},"flags":{"toxic":false,"spam":true},"flagged":true,"truncated":false}
                {"record":3,"line":5,"id":8,"error":{"code":"invalid_utf8","message":"invalid UTF-8 at byte 4 of the record"}}
                {"record":4,"line":6,"text":"x","scores":{"toxic":0.125,"spam":null},"flags":{"toxic":false,"spam":false},"flagged":false,"truncated":true}

                """)
        let withoutText = try written(OutputLayout(format: .jsonl, labels: labels, carriedColumns: [], includeText: false), [(scored, result)])
        #expect(!withoutText.contains("\"text\""))
        #expect(try JSONSerialization.jsonObject(with: Data(withoutText.utf8)) is [String: Any])
    }

    @Test("CSV: header with carried columns, a scored row with quoting, an error row with empty scores, a truncated row")
    func csv() throws {
        let layout = OutputLayout(format: .csv, labels: labels, carriedColumns: ["id", "record", "lang"], includeText: true)
        var truncated = result
        truncated.truncated = true
        let long = InputRecord(number: 4, line: 6, text: "long")
        let rows = try written(layout, [(scored, result), (bad, nil), (long, truncated)]).components(separatedBy: "\n")
        #expect(rows.first == "record,line,id,input_record,lang,text,toxic,spam,toxic_flagged,spam_flagged,flagged,truncated,error")
        // The text holds a newline, so the row spans two lines.
        #expect(rows[1...2].joined(separator: "\n") == "1,2,7,theirs,,\"hi, \"\"there\"\"\n\u{1}\",0.25,0.75,false,true,true,false,")
        #expect(rows[3] == (["3", "5", "8"] + Array(repeating: "", count: 9) + ["invalid_utf8: invalid UTF-8 at byte 4 of the record"]).joined(separator: ","))
        #expect(rows[4] == "4,6,,,,long,0.25,0.75,false,true,true,true,")
        #expect(rows[5] == "" && rows.count == 6)
    }

    @Test("appendFrom cuts the file to that length and appends, without a second CSV header")
    func append() throws {
        let scratch = try TempFolder()
        let layout = OutputLayout(format: .csv, labels: labels, carriedColumns: [], includeText: false)
        let first = try RecordWriter(path: scratch.path("out.csv"), layout: layout)
        try first.write(InputRecord(number: 1, line: 1, text: "a"), result: result, error: nil)
        try first.flush()
        let keep = Int64(try scratch.read("out.csv").utf8.count)
        try first.write(InputRecord(number: 2, line: 2, text: "b"), result: result, error: nil)
        try first.flush()

        let resumed = try RecordWriter(path: scratch.path("out.csv"), layout: layout, appendFrom: keep)
        try resumed.write(InputRecord(number: 9, line: 9, text: "c"), result: result, error: nil)
        try resumed.flush()
        #expect(try scratch.read("out.csv").split(separator: "\n").map { $0.prefix(4) } == ["reco", "1,1,", "9,9,"])
    }

    @Test("checkWritable creates a missing file, keeps an existing one, and names the path it cannot open")
    func checkWritable() throws {
        let scratch = try TempFolder()
        try RecordWriter.checkWritable(path: scratch.path("new.jsonl"))
        #expect(try scratch.read("new.jsonl") == "")
        let existing = try scratch.write("old.jsonl", "keep me\n")
        try RecordWriter.checkWritable(path: existing)
        #expect(try scratch.read("old.jsonl") == "keep me\n")
        let bad = scratch.path("no/such/dir/out.jsonl")
        let error = #expect(throws: ScoreIOError.self) { try RecordWriter.checkWritable(path: bad) }
        #expect(error?.description == "cannot write the output \(bad): No such file or directory")
    }
}

@Suite struct ResumePointTests {
    let jsonl = """
        {"record":1,"line":1,"scores":{"a":0.5},"flags":{"a":true},"flagged":true}
        {"record":2,"line":3,"error":{"code":"empty_text","message":"the text is empty"}}
        {"record":5,"line":7,"scores":{"a":0.1},"flags":{"a":false},"flagged":false}

        """

    @Test("a missing or empty output resumes from the start")
    func nothingYet() throws {
        let scratch = try TempFolder()
        let none = try ResumePoint.find(path: scratch.path("missing.jsonl"), format: .jsonl)
        #expect(none.lastRecord == 0 && none.validLength == 0)
        let empty = try ResumePoint.find(path: try scratch.write("empty.jsonl", ""), format: .jsonl)
        #expect(empty.lastRecord == 0 && empty.validLength == 0)
    }

    @Test("JSON Lines: a complete file resumes after its last record, keeping every byte")
    func completeJSONLines() throws {
        let scratch = try TempFolder()
        let point = try ResumePoint.find(path: try scratch.write("out.jsonl", jsonl), format: .jsonl)
        #expect(point.lastRecord == 5)
        #expect(point.validLength == Int64(jsonl.utf8.count))
    }

    @Test("JSON Lines: a cut-off last line is dropped; the record before it is where to resume")
    func cutJSONLines() throws {
        let scratch = try TempFolder()
        let point = try ResumePoint.find(path: try scratch.write("out.jsonl", jsonl + #"{"record":6,"line":9,"sco"#), format: .jsonl)
        #expect(point.lastRecord == 5)
        #expect(point.validLength == Int64(jsonl.utf8.count))
        // Even a complete-looking record is not trusted without its newline.
        let unterminated = try ResumePoint.find(path: try scratch.write("b.jsonl", jsonl + #"{"record":6,"line":9}"#), format: .jsonl)
        #expect(unterminated.lastRecord == 5)
        let onlyPartial = try ResumePoint.find(path: try scratch.write("c.jsonl", #"{"record":1,"li"#), format: .jsonl)
        #expect(onlyPartial.lastRecord == 0 && onlyPartial.validLength == 0)
    }

    @Test("CSV: resumes after the last complete row; the header alone keeps the header")
    func csv() throws {
        let scratch = try TempFolder()
        let header = "record,line,a,a_flagged,flagged,error\n"
        let rows = "1,1,0.5,true,true,\n2,2,,,,\"empty_text: the text, empty\"\n"
        let complete = try ResumePoint.find(path: try scratch.write("a.csv", header + rows), format: .csv)
        #expect(complete.lastRecord == 2 && complete.validLength == Int64((header + rows).utf8.count))
        let cut = try ResumePoint.find(path: try scratch.write("b.csv", header + rows + "3,3,0.2"), format: .csv)
        #expect(cut.lastRecord == 2 && cut.validLength == Int64((header + rows).utf8.count))
        let headerOnly = try ResumePoint.find(path: try scratch.write("c.csv", header), format: .csv)
        #expect(headerOnly.lastRecord == 0 && headerOnly.validLength == Int64(header.utf8.count))
    }

    @Test("complete records that failed to score (scoring_failed, not bad input) are counted, in JSON Lines and CSV")
    func failedToScore() throws {
        let scratch = try TempFolder()
        let lines = jsonl + #"{"record":6,"line":8,"error":{"code":"scoring_failed","message":"deadline"}}"# + "\n"
        let cut = #"{"record":7,"line":9,"error":{"code":"scoring_failed""#
        let point = try ResumePoint.find(path: try scratch.write("a.jsonl", lines + cut), format: .jsonl)
        #expect(point == ResumePoint(lastRecord: 6, validLength: Int64(lines.utf8.count), failedToScore: 1))
        let header = "record,line,a,a_flagged,flagged,truncated,error\n"
        let rows = "1,1,,,,,\"scoring_failed: deadline, passed\"\n2,2,0.5,true,true,false,\n3,3,,,,,empty_text: the text is empty\n"
        let csv = try ResumePoint.find(path: try scratch.write("a.csv", header + rows), format: .csv)
        #expect(csv.lastRecord == 3 && csv.failedToScore == 1)
    }

    @Test("a file that is not warden score output, or is gzip-compressed, is refused with the reason")
    func notOurs() throws {
        let scratch = try TempFolder()
        let text = try scratch.write("notes.jsonl", "just some notes\n")
        let notJSON = #expect(throws: ScoreIOError.self) { try ResumePoint.find(path: text, format: .jsonl) }
        #expect(notJSON?.description == "cannot resume into \(text): its last complete line (1) is not a record written by warden score as jsonl")
        let csv = try scratch.write("other.csv", "name,value\nx,1\n")
        let notCSV = #expect(throws: ScoreIOError.self) { try ResumePoint.find(path: csv, format: .csv) }
        #expect(notCSV?.description.hasPrefix("cannot resume into \(csv): it is not CSV output of warden score") == true)
        let gzip = try scratch.gzipFile("out.jsonl", members: [jsonl])
        let zipped = #expect(throws: ScoreIOError.self) { try ResumePoint.find(path: gzip, format: .jsonl) }
        #expect(zipped?.description == "cannot resume into \(gzip): it is gzip-compressed")
    }
}

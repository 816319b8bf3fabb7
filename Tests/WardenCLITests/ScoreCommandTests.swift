import Foundation
import Testing
import WardenTestSupport

/// `warden score` run as a process on real files, with the random-weight fixture model.
@Suite("warden score (process level)", .serialized, .timeLimit(.minutes(10)))
struct ScoreCommandTests {
    let labels = ["toxic", "hate", "spam"]

    // MARK: Formats

    @Test("plain text: one record per line, in order, scores and flags for every label")
    func plainText() async throws {
        let tmp = try TempFolder()
        let messages = chatMessages(200)
        let input = try tmp.write("chat.txt", messages.joined(separator: "\n") + "\n")
        let out = tmp.path("out.jsonl")
        let run = try await CLI.score([input, "-o", out, "--include-text"], in: tmp.url)
        #expect(run.status == 0, "\(run.stderr)")
        let records = try parseJSONLines(file: out)
        #expect(records.map(\.record) == Array(1...200))
        #expect(records.map(\.line) == Array(1...200))
        #expect(records.map { $0["text"] as? String } == messages)
        for record in records {
            let scores = try #require(record.scores)
            let flags = try #require(record.flags)
            #expect(Set(scores.keys) == Set(labels))
            for label in labels { #expect(flags[label] == (scores[label]! >= 0.5)) }
            #expect(record.flagged == flags.values.contains(true))
        }
        #expect(run.stderr.contains("200 records"))
    }

    @Test("JSON Lines: --text-field, other members carried verbatim and in order")
    func jsonLines() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write(
            "in.jsonl",
            """
            {"id": 7, "body": "you played like trash", "meta": {"tags": ["a", "b"], "n": 1.5e3}, "user": "ana"}
            {"user": "bo", "body": "caf\\u00e9 na\\u00efve \\ud83d\\ude00", "id": "x-2"}

            {"id": 9, "body": "gg wp", "record": "theirs"}

            """)
        let run = try await CLI.score([input, "--text-field", "body"], in: tmp.url)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdoutText.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix(#"{"record":1,"line":1,"id":7,"meta":{"tags": ["a", "b"], "n": 1.5e3},"user":"ana","scores":{"#))
        #expect(lines[1].hasPrefix(#"{"record":2,"line":2,"user":"bo","id":"x-2","scores":"#))
        // The blank line is not a record but keeps line numbers true; a clashing name is renamed.
        #expect(lines[2].hasPrefix(#"{"record":3,"line":4,"id":9,"input_record":"theirs","scores":"#))
        let records = try parseJSONLines(run.stdout)
        #expect(records.allSatisfy { $0["body"] == nil && $0.scores != nil })
    }

    @Test("CSV: header, --text-column, quoted fields with commas, quotes and newlines; CSV output")
    func csv() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("in.csv", "id,message,lang\r\n1,hello there,en\r\n2,\"multi\nline, with \"\"quotes\"\"\",fr\r\n3,gg wp,de\r\n")
        let jsonRun = try await CLI.score([input, "--text-column", "message", "--include-text"], in: tmp.url)
        #expect(jsonRun.status == 0, "\(jsonRun.stderr)")
        let records = try parseJSONLines(jsonRun.stdout)
        #expect(records.map(\.record) == [1, 2, 3])
        #expect(records.map(\.line) == [2, 3, 5])
        #expect(records.map { $0["id"] as? String } == ["1", "2", "3"])
        #expect(records.map { $0["lang"] as? String } == ["en", "fr", "de"])
        #expect(records[1]["text"] as? String == "multi\nline, with \"quotes\"")

        let out = tmp.path("out.csv")
        let csvRun = try await CLI.score([input, "--text-column", "message", "-o", out], in: tmp.url)
        #expect(csvRun.status == 0, "\(csvRun.stderr)")
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows[0].joined(separator: ",") == "record,line,id,lang,toxic,hate,spam,toxic_flagged,hate_flagged,spam_flagged,flagged,truncated,error")
        #expect(rows.count == 4)
        #expect(rows[1].prefix(4).joined(separator: ",") == "1,2,1,en")
        #expect(rows[2].prefix(4).joined(separator: ",") == "2,3,2,fr")
        for row in rows.dropFirst() {
            #expect(row.count == 13)
            #expect(Double(row[4]) != nil && row[11] == "false" && row[12].isEmpty)
        }
    }

    @Test("CSV without the text column fails at once with the columns it has")
    func csvMissingColumn() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("in.csv", "id,body\n1,hi\n")
        let run = try await CLI.score([input], in: tmp.url)
        #expect(run.status == 1)
        #expect(run.stderr.contains("no column 'text'") && run.stderr.contains("id, body"))
        #expect(run.stdout.isEmpty)
    }

    @Test("--format overrides the extension; gzip is recognised by its magic bytes, even without .gz")
    func formatAndGzip() async throws {
        let tmp = try TempFolder()
        let messages = chatMessages(300)
        let plain = try tmp.write("chat.log", messages.joined(separator: "\n") + "\n")
        let gzipped = tmp.path("chat.data")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(plain)' > '\(gzipped)'"]
        try gzip.run()
        await gzip.waitForExit()
        let a = try await CLI.score([plain, "--format", "text"], in: tmp.url)
        let b = try await CLI.score([gzipped, "--format", "text"], in: tmp.url)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        expectSameScores(try parseJSONLines(a.stdout), try parseJSONLines(b.stdout))
        #expect(try parseJSONLines(b.stdout).count == 300)
    }

    // MARK: Bad records

    @Test("plain text: invalid UTF-8 and empty lines give error records with their line numbers")
    func badTextRecords() async throws {
        let tmp = try TempFolder()
        var bytes = Array("first message\n\nthird\n".utf8)
        bytes += [0x62, 0x61, 0x64, 0x20, 0xC3, 0x28, 0x0A]  // "bad " + an invalid sequence
        bytes += Array("   \nlast one without newline".utf8)
        let input = try tmp.write("bad.txt", bytes: bytes)
        let run = try await CLI.score([input], in: tmp.url)
        #expect(run.status == 2)
        let records = try parseJSONLines(run.stdout)
        #expect(records.map(\.record) == [1, 2, 3, 4, 5, 6])
        #expect(records.map(\.line) == [1, 2, 3, 4, 5, 6])
        #expect(records.map(\.errorCode) == [nil, "empty_text", nil, "invalid_utf8", "empty_text", nil])
        let message = (records[3]["error"] as! [String: Any])["message"] as! String
        #expect(message.contains("byte 4"))
        #expect(run.stderr.contains("3 failed"))

        let skipped = try await CLI.score([input, "--skip-invalid"], in: tmp.url)
        #expect(skipped.status == 2)
        #expect(try parseJSONLines(skipped.stdout).map(\.record) == [1, 3, 6])
    }

    @Test("JSON Lines: malformed line, missing field, non-string field, empty text, invalid UTF-8")
    func badJSONRecords() async throws {
        let tmp = try TempFolder()
        var bytes = Array(
            """
            {"id": 1, "text": "fine"}
            {"id": 2, "text": "oops"
            {"id": 3}
            {"id": 4, "text": null}
            {"id": 5, "text": "  "}

            """.utf8)
        bytes += Array(#"{"id": 6, "text": "bad "#.utf8) + [0xFF] + Array("\"}\n".utf8)
        bytes += Array(#"{"id": 7, "text": "fine again"} trailing"#.utf8) + [0x0A]
        bytes += Array(#"{"id": 8, "text": "last"}"#.utf8) + [0x0A]
        let input = try tmp.write("bad.jsonl", bytes: bytes)
        let run = try await CLI.score([input], in: tmp.url)
        #expect(run.status == 2)
        let records = try parseJSONLines(run.stdout)
        #expect(records.map(\.record) == Array(1...8))
        #expect(records.map(\.errorCode) == [nil, "invalid_json", "missing_field", "invalid_field", "empty_text", "invalid_utf8", "invalid_json", nil])
        // Carried fields survive on records whose JSON was readable.
        #expect(records[2]["id"] as? Int == 3)
        #expect(records[7]["id"] as? Int == 8)
    }

    @Test("lone surrogates, duplicate keys and hostile nesting are error records under the API's codes; the run goes on")
    func hostileJSONRecords() async throws {
        let tmp = try TempFolder()
        let lines = [
            #"{"id": 1, "text": "\ud800\ud800"}"#,
            #"{"id": 2, "text": "hi", "user": "\ud800\u0041"}"#,
            #"{"id": 3, "text": "a", "text": "you worthless idiot"}"#,
            #"{"id": 4, "text": "fine \ud83d\ude00"}"#,
            #"{"id": 5, "text": "x", "meta": "# + String(repeating: "[", count: 50_000) + "}",
            #"{"id": 6, "text": "\udc00"}"#,
            #"{"id": 7, "text": "&nbsp; &nbsp;"}"#,  // empty once normalised: empty_text, as over HTTP, not scoring_failed
            #"{"id": 8, "text": "last"}"#,
        ]
        let input = try tmp.write("hostile.jsonl", lines.joined(separator: "\n") + "\n")
        let run = try await CLI.score([input], in: tmp.url)
        #expect(run.status == 2, "\(run.stderr)")
        let records = try parseJSONLines(run.stdout)
        #expect(records.map(\.record) == Array(1...8))
        #expect(records.map(\.errorCode) == ["invalid_json", "invalid_json", "duplicate_key", nil, "invalid_json", "invalid_json", "empty_text", nil])
        let message = { (index: Int) in ((records[index]["error"] as? [String: Any])?["message"] as? String) ?? "" }
        #expect(message(0).hasPrefix("text: "), "\(message(0))")
        #expect(message(1).hasPrefix("user: "), "\(message(1))")
        #expect(message(2).hasPrefix("text: "), "\(message(2))")
    }

    @Test("CSV: wrong field count and an unclosed quote are error records; the run goes on")
    func badCSVRecords() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("bad.csv", "id,text\n1,ok\n2,a,b\n3,\n4,\"x\"y\n5,fine\n6,\"never closed\n")
        let run = try await CLI.score([input], in: tmp.url)
        #expect(run.status == 2)
        let records = try parseJSONLines(run.stdout)
        #expect(records.map(\.errorCode) == [nil, "malformed_csv", "empty_text", "malformed_csv", nil, "malformed_csv"])
        #expect(records.map(\.line) == [2, 3, 4, 5, 6, 7])
    }

    @Test("a record over --max-record-bytes is an error record and is not held in memory")
    func tooLong() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("long.txt", "short\n" + String(repeating: "x ", count: 5000) + "\nafter\n")
        let run = try await CLI.score([input, "--max-record-bytes", "4096"], in: tmp.url)
        #expect(run.status == 2)
        #expect(try parseJSONLines(run.stdout).map(\.errorCode) == [nil, "record_too_long", nil])
    }

    @Test("--max-buffered-bytes bounds the bytes held, must fit the longest record, and is reported in --summary-json")
    func bufferedBytes() async throws {
        let tmp = try TempFolder()
        let messages = (0..<200).map { index in (0..<1500).map { "w\(($0 * 7 + index) % 97)" }.joined(separator: " ") }
        let input = try tmp.write("big.txt", messages.joined(separator: "\n") + "\n")
        let summaryPath = tmp.path("summary.json")
        let run = try await CLI.score(
            [
                input, "-q", "--max-record-bytes", "16384", "--max-buffered-bytes", "65536",
                "--summary-json", summaryPath,
            ], in: tmp.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try parseJSONLines(run.stdout).map(\.record) == Array(1...200))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
        let highWater = try #require(summary["buffered_bytes_high_water"] as? Int)
        #expect(highWater > 0 && highWater <= 65536)

        let tooSmall = try await CLI.score([input, "--max-record-bytes", "4096", "--max-buffered-bytes", "1000"], in: tmp.url)
        #expect(tooSmall.status == 64)
        #expect(tooSmall.stderr.contains("--max-buffered-bytes must be at least --max-record-bytes"))
    }

    // MARK: Order, piping

    @Test("results come out in input order whatever the batching, and match one-at-a-time scoring")
    func orderPreserved() async throws {
        let tmp = try TempFolder()
        let messages = chatMessages(1500, seed: 7)
        let input = try tmp.write("chat.txt", messages.joined(separator: "\n") + "\n")
        let batched = try await CLI.score([input, "--include-text", "--group-size", "48", "--window", "2000"], in: tmp.url)
        let sequential = try await CLI.score([input, "--include-text", "--group-size", "1", "--window", "1", "--max-batch-size", "1"], in: tmp.url)
        #expect(batched.status == 0 && sequential.status == 0)
        let a = try parseJSONLines(batched.stdout), b = try parseJSONLines(sequential.stdout)
        #expect(a.map { $0["text"] as? String } == messages)
        #expect(a.map(\.record) == Array(1...1500))
        expectSameScores(a, b)
    }

    @Test("standard input to standard output, plain and gzip-compressed")
    func piping() async throws {
        let tmp = try TempFolder()
        let messages = chatMessages(100)
        let input = try tmp.write("chat.txt", messages.joined(separator: "\n") + "\n")
        let fromFile = try await CLI.score([input], in: tmp.url)
        let fromStdin = try await CLI.score(["-"], stdinFile: input, in: tmp.url)
        let implicit = try await CLI.score([], stdinFile: input, in: tmp.url)
        #expect(fromStdin.status == 0 && implicit.status == 0)
        expectSameScores(try parseJSONLines(fromFile.stdout), try parseJSONLines(fromStdin.stdout))
        expectSameScores(try parseJSONLines(fromFile.stdout), try parseJSONLines(implicit.stdout))
        // No progress bar when standard error is not a terminal; one summary line.
        #expect(!fromStdin.stderr.contains("\r"))
        #expect(fromStdin.stderr.split(separator: "\n").count == 1)

        let gz = tmp.path("chat.txt.gz")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(input)' > '\(gz)'"]
        try gzip.run()
        await gzip.waitForExit()
        let gzStdin = try await CLI.score(["-", "-q"], stdinFile: gz, in: tmp.url)
        #expect(gzStdin.status == 0)
        #expect(gzStdin.stderr.isEmpty)
        expectSameScores(try parseJSONLines(fromFile.stdout), try parseJSONLines(gzStdin.stdout))
    }

    @Test("--only-flagged, --threshold and --summary-json agree")
    func onlyFlaggedAndSummary() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("chat.txt", chatMessages(400).joined(separator: "\n") + "\n")
        let all = try parseJSONLines(try await CLI.score([input, "--threshold", "spam=0.52", "--threshold", "toxic=0.45"], in: tmp.url).stdout)
        let summaryPath = tmp.path("summary.json")
        let run = try await CLI.score(
            [
                input, "--threshold", "spam=0.52", "--threshold", "toxic=0.45", "--only-flagged",
                "--summary-json", summaryPath,
            ], in: tmp.url)
        #expect(run.status == 0)
        let flagged = try parseJSONLines(run.stdout)
        for record in all {
            #expect(record.flags!["spam"] == (record.scores!["spam"]! >= 0.52))
            #expect(record.flags!["toxic"] == (record.scores!["toxic"]! >= 0.45))
        }
        #expect(Set(flagged.map(\.record)) == Set(all.filter { $0.flagged == true }.map(\.record)))
        #expect(flagged.allSatisfy { $0.flagged == true })
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
        #expect(summary["records"] as? Int == 400)
        #expect(summary["written"] as? Int == flagged.count)
        #expect(summary["exit_code"] as? Int == 0)
        let perLabel = summary["flagged_per_label"] as! [String: Int]
        #expect(perLabel["spam"] == all.filter { $0.flags!["spam"]! }.count)
    }

    // MARK: Interruption and resume

    @Test("SIGKILL mid-run leaves the records in OUTPUT.partial; --resume continues it into an output equal to a clean run")
    func resumeAfterKill() async throws {
        let tmp = try TempFolder()
        let count = 20000
        let input = try tmp.write("chat.txt", chatMessages(count, seed: 3).joined(separator: "\n") + "\n")
        let clean = tmp.path("clean.jsonl")
        #expect(try await CLI.score([input, "-o", clean, "-q"], in: tmp.url).status == 0)

        let out = tmp.path("out.jsonl")
        let unfinished = out + ".partial"
        let (process, _, _) = try CLI.start(["score", "--model", CLI.model, input, "-o", out, "-q"], in: tmp.url)
        // Wait until some output is on disk (however long the model takes to load), then kill without warning.
        try await waitUntil("200,000 bytes of partial output", timeout: .seconds(300)) {
            !process.isRunning || ((try? FileManager.default.attributesOfItem(atPath: unfinished)[.size] as? Int) ?? 0) > 200_000
        }
        kill(process.processIdentifier, SIGKILL)
        await process.waitForExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(!FileManager.default.fileExists(atPath: out), "only a finished run writes the output")
        let partial = try parseJSONLines(file: unfinished)
        #expect(partial.count > 0 && partial.count < count, "killed too late to test resume")
        // Simulate a kill in the middle of a write too: a partial last line.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: unfinished))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"record":999999,"line":99"#.utf8))
        try handle.close()

        let resumed = try await CLI.score([input, "-o", out, "--resume"], in: tmp.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed after record"))
        let union = try parseJSONLines(file: out)
        #expect(union.map(\.record) == Array(1...count))
        expectSameScores(union, try parseJSONLines(file: clean))
        #expect(!FileManager.default.fileExists(atPath: unfinished))
    }

    @Test("SIGINT finishes the records in flight, flushes them to OUTPUT.partial, leaves the output alone, exits 130; --resume completes it")
    func interrupt() async throws {
        let tmp = try TempFolder()
        let count = 20000
        let input = try tmp.write("chat.txt", chatMessages(count, seed: 5).joined(separator: "\n") + "\n")
        let out = try tmp.write("out.jsonl", "{\"record\":1,\"line\":1,\"from\":\"an earlier run\"}\n")
        let unfinished = out + ".partial"
        let (process, _, errURL) = try CLI.start(["score", "--model", CLI.model, input, "-o", out], in: tmp.url)
        try await waitUntil("100,000 bytes of partial output", timeout: .seconds(300)) {
            !process.isRunning || ((try? FileManager.default.attributesOfItem(atPath: unfinished)[.size] as? Int) ?? 0) > 100_000
        }
        kill(process.processIdentifier, SIGINT)
        await process.waitForExit()
        #expect(process.terminationStatus == 130)
        let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        #expect(stderr.contains("--resume"))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "{\"record\":1,\"line\":1,\"from\":\"an earlier run\"}\n")
        let partial = try parseJSONLines(file: unfinished)
        #expect(partial.map(\.record) == Array(1...partial.count))  // complete lines, no gap
        #expect(partial.count < count)
        #expect(stderr.contains("stopped after input record \(partial.count) of \(input); every record up to it is in \(unfinished) "), "\(stderr)")

        let resumed = try await CLI.score([input, "-o", out, "--resume", "-q"], in: tmp.url)
        #expect(resumed.status == 0)
        #expect(try parseJSONLines(file: out).map(\.record) == Array(1...count))
        #expect(!FileManager.default.fileExists(atPath: unfinished))
    }

    @Test("--resume keeps a finished CSV output as is and scores nothing more")
    func resumeFinishedCSV() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("chat.txt", chatMessages(50).joined(separator: "\n") + "\n")
        let out = tmp.path("out.csv")
        #expect(try await CLI.score([input, "-o", out, "-q"], in: tmp.url).status == 0)
        let before = try String(contentsOfFile: out, encoding: .utf8)
        let again = try await CLI.score([input, "-o", out, "--resume"], in: tmp.url)
        #expect(again.status == 0)
        #expect(again.stderr.contains("0 records"))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == before)
    }

    // MARK: Wrong paths

    @Test("a missing input, an unwritable output or a broken model fails at once with one clear line")
    func wrongPaths() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("chat.txt", "hello\n")

        let missing = try await CLI.score([tmp.path("nope.txt")], in: tmp.url)
        #expect(missing.status == 1)
        #expect(missing.stderr == "warden: cannot read the input \(tmp.path("nope.txt")): No such file or directory\n")

        let directory = try await CLI.score([tmp.url.path], in: tmp.url)
        #expect(directory.status == 1)
        #expect(directory.stderr.contains("is a directory"))

        let badOutput = try await CLI.score([input, "-o", tmp.path("no/such/dir/out.jsonl")], in: tmp.url)
        #expect(badOutput.status == 1)
        #expect(badOutput.stderr.contains("cannot write the output"))

        let noModel = try await CLI.run(["score", input, "--model", tmp.path("no-model")], in: tmp.url)
        #expect(noModel.status == 1)
        #expect(noModel.stderr.hasPrefix("warden: cannot load the model in \(tmp.path("no-model"))"))

        let bundle = try CLI.brokenModel(in: tmp.url)
        let broken = try await CLI.run(["score", input, "--model", bundle, "-o", tmp.path("o.jsonl")], in: tmp.url)
        #expect(broken.status == 1)
        #expect(broken.stderr.hasPrefix("warden: cannot load the model in \(bundle)"))
        #expect(broken.stderr.split(separator: "\n").count == 1)

        let badThreshold = try await CLI.score([input, "--threshold", "nosuch=0.3"], in: tmp.url)
        #expect(badThreshold.status == 1)
        #expect(badThreshold.stderr.contains("nosuch"))

        let resumeStdout = try await CLI.score([input, "--resume"], in: tmp.url)
        #expect(resumeStdout.status == 64)
    }
}

import Foundation
import Testing
import WardenTestSupport

/// `warden score` as a process: the output never destroys the input, an unfinished run never replaces the
/// output, `--resume` re-scores earlier failures, and partly scored texts are reported.
@Suite("warden score: output safety, retries and partial coverage (process level)", .serialized, .timeLimit(.minutes(10)))
struct ScoreOutputSafetyTests {
    static func lines(_ count: Int) -> String {
        (1...count).map { "message number \($0) about the weekend" }.joined(separator: "\n") + "\n"
    }

    // MARK: The output is the input

    @Test("-o naming the input (same path, a symlink to it, a hard link to it) is refused with one line before the model loads")
    func outputIsInput() async throws {
        let tmp = try TempFolder()
        let text = Self.lines(3000)
        let input = try tmp.write("in.txt", text)
        try FileManager.default.createSymbolicLink(atPath: tmp.path("link.txt"), withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: tmp.path("hard.txt"))
        for (source, output) in [
            (input, input), (input, tmp.path("link.txt")), (input, tmp.path("hard.txt")),
            (tmp.path("link.txt"), input), (tmp.path("hard.txt"), tmp.path("link.txt")),
        ] {
            for resume in [[], ["--resume"]] {
                // No such model: the refusal comes before the model would load.
                let refused = try await CLI.run(
                    ["score", source, "-o", output, "--model", tmp.path("no-model")] + resume,
                    in: tmp.url, limit: .seconds(120))
                #expect(refused.status == 1, "\(source) -> \(output) \(resume): \(refused.stderr)")
                #expect(refused.stderr.hasPrefix("warden: the output \(output) is the input file"), "\(refused.stderr)")
                #expect(refused.stderr.split(separator: "\n").count == 1)
                #expect(try String(contentsOfFile: input, encoding: .utf8) == text, "the input was changed")
            }
            // With a model that loads, too.
            let real = try await CLI.score([source, "-o", output], in: tmp.url, limit: .seconds(120))
            #expect(real.status == 1, "\(real.stderr)")
            #expect(try String(contentsOfFile: input, encoding: .utf8) == text, "the input was changed")
        }
        #expect(!FileManager.default.fileExists(atPath: input + ".partial"))
    }

    @Test("standard input or standard output that is the other file is refused too")
    func standardStreamsAreChecked() async throws {
        let tmp = try TempFolder()
        let text = Self.lines(3000)
        let input = try tmp.write("in.txt", text)
        let fromStdin = try await CLI.score(["-", "-o", input], stdinFile: input, in: tmp.url, limit: .seconds(120))
        #expect(fromStdin.status == 1, "\(fromStdin.stderr)")
        #expect(fromStdin.stderr.contains("is the input file"))
        #expect(try String(contentsOfFile: input, encoding: .utf8) == text)

        // `warden score in.txt >> in.txt`: standard output appends to the input.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "exec \"$0\" score --model \"$1\" \"$2\" >> \"$2\" 2>\"$3\"", try CLI.binary.path, CLI.model, input, tmp.path("err")]
        try shell.run()
        try await CLI.exit(of: shell, limit: .seconds(120))
        #expect(shell.terminationStatus == 1)
        #expect(try String(contentsOfFile: tmp.path("err"), encoding: .utf8).contains("is the input file"))
        #expect(try String(contentsOfFile: input, encoding: .utf8) == text)

        // Devices are not files: /dev/null in and out is fine.
        let devices = try await CLI.score(["/dev/null", "-o", "/dev/null"], in: tmp.url, limit: .seconds(120))
        #expect(devices.status == 0, "\(devices.stderr)")
    }

    // MARK: Write through a partial file

    @Test("a run that fails after opening its output leaves the previous output as it was")
    func failedRunKeepsPreviousOutput() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("in.txt", Self.lines(10))
        let out = try tmp.write("out.jsonl", "{\"record\":1,\"line\":1,\"previous\":true}\n")
        // A model that fails when the engine loads it, after the output was opened.
        let broken = try await CLI.run(["score", input, "--model", try CLI.brokenModel(in: tmp.url), "-o", out], in: tmp.url)
        #expect(broken.status == 1)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "{\"record\":1,\"line\":1,\"previous\":true}\n")
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))

        // A run that completes replaces it, through a symlink to the real file.
        try FileManager.default.createSymbolicLink(atPath: tmp.path("link.jsonl"), withDestinationPath: out)
        let done = try await CLI.score([input, "-o", tmp.path("link.jsonl"), "-q"], in: tmp.url)
        #expect(done.status == 0)
        #expect(try parseJSONLines(file: out).map(\.record) == Array(1...10))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: tmp.path("link.jsonl")) == out)
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
    }

    // MARK: --resume retries failures

    @Test("--resume re-scores the records that failed to score and keeps the others and the input order")
    func resumeRetriesFailures() async throws {
        let tmp = try TempFolder()
        let count = 600
        let input = try tmp.write("chat.txt", chatMessages(count, seed: 11).joined(separator: "\n") + "\n")
        let clean = tmp.path("clean.jsonl")
        #expect(try await CLI.score([input, "-o", clean, "-q"], in: tmp.url).status == 0)

        let out = tmp.path("out.jsonl")
        // Records 1–200 scored; 201–400 fail (a 1 ms deadline passes before they are scored).
        #expect(try await CLI.score([input, "-o", out, "-q", "--max-records", "200"], in: tmp.url).status == 0)
        let failing = try await CLI.score([input, "-o", out, "--resume", "--max-records", "200", "--bulk-deadline-ms", "1"], in: tmp.url)
        #expect(failing.status == 2, "\(failing.stderr)")
        let partial = try parseJSONLines(file: out)
        #expect(partial.map(\.record) == Array(1...400))
        let failed = partial.filter { $0.errorCode == "scoring_failed" }.map(\.record)
        #expect(!failed.isEmpty && failed.allSatisfy { $0 > 200 })

        let summaryPath = tmp.path("summary.json")
        let resumed = try await CLI.score([input, "-o", out, "--resume", "--summary-json", summaryPath], in: tmp.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("retried \(failed.count) earlier failures"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains(" 0 failed"))
        let union = try parseJSONLines(file: out)
        #expect(union.map(\.record) == Array(1...count))
        #expect(union.allSatisfy { $0.errorCode == nil })
        expectSameScores(union, try parseJSONLines(file: clean))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
        #expect(summary["retried"] as? Int == failed.count)
        #expect(summary["failed"] as? Int == 0)
        #expect(summary["records"] as? Int == failed.count + 200)

        // Nothing left to retry or score: the output stays as it is.
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let again = try await CLI.score([input, "-o", out, "--resume"], in: tmp.url)
        #expect(again.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before)
    }

    // MARK: Partly scored texts

    @Test("truncated texts are marked in JSON Lines and CSV output and counted in the summary line and JSON")
    func truncatedIsWritten() async throws {
        let tmp = try TempFolder()
        let messages = chatMessages(300, seed: 4)
        let input = try tmp.write("chat.txt", messages.joined(separator: "\n") + "\n")
        let summaryPath = tmp.path("summary.json")
        let run = try await CLI.score([input, "--long-text", "truncate", "--summary-json", summaryPath], in: tmp.url)
        #expect(run.status == 0, "\(run.stderr)")
        let records = try parseJSONLines(run.stdout)
        let truncated = records.filter { $0["truncated"] as? Bool == true }.count
        #expect(records.allSatisfy { $0["truncated"] is Bool })
        #expect(truncated > 0 && truncated < 300, "chatMessages has a few texts longer than the model")
        #expect(run.stderr.contains(", \(truncated) truncated"), "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
        #expect(summary["truncated"] as? Int == truncated)

        // The default (windows) scores them whole.
        let whole = try await CLI.score([input], in: tmp.url)
        #expect(try parseJSONLines(whole.stdout).allSatisfy { $0["truncated"] as? Bool == false })
        #expect(!whole.stderr.contains("truncated"))

        let csv = tmp.path("out.csv")
        #expect(try await CLI.score([input, "--long-text", "truncate", "-o", csv, "-q"], in: tmp.url).status == 0)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let column = try #require(rows[0].firstIndex(of: "truncated"))
        #expect(rows[0].last == "error")
        #expect(rows.dropFirst().map { $0[column] == "true" } == records.map { $0["truncated"] as? Bool == true })
    }
}

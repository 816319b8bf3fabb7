import Foundation
import Testing
import WardenScore

@Suite struct ScoreSummaryTests {
    /// A resumed run with bad records, to stdout unless `output` is given.
    func summary(output: String = "-", interrupted: Bool = false, inputError: ScoreIOError? = nil, failed: Bool = true) -> ScoreSummary {
        var tally = ScoreTally(labelCount: 2)
        (tally.records, tally.scored, tally.written, tally.lastRecord, tally.resumedAfter) = (12_345, 12_000, 12_300, 13_345, 1_000)
        (tally.flagged, tally.flaggedPerLabel) = (1_234, [1_000, 234])
        if failed { (tally.failedByCode, tally.skippedInvalid) = (["invalid_utf8": 45, "empty_text": 300], 45) }
        return ScoreSummary(
            input: "-", output: output, inputFormat: .jsonl, outputFormat: .csv, model: "models/m", labels: ["toxic", "spam"],
            tally: tally, interrupted: interrupted, inputError: inputError, scoringTime: .seconds(2), modelLoadTime: .milliseconds(1500))
    }

    @Test("exit status: 130 interrupted, else 1 input error, else 2 bad records, else 0")
    func exitCode() {
        let error = ScoreIOError("the gzip input x is corrupt")
        #expect(summary(failed: false).exitCode == 0)
        #expect(summary().exitCode == 2)
        #expect(summary(inputError: error).exitCode == 1)
        #expect(summary(interrupted: true, inputError: error).exitCode == 130)
    }

    @Test("the summary line: counts grouped by thousands, per-label flags, failures by code, resume, output path")
    func line() {
        #expect(
            summary(output: "out.csv").line == "warden: 12,345 records in 2.0s (6,172 msg/s): 12,000 scored, 1,234 flagged (toxic 1,000, spam 234), "
                + "345 failed (empty_text 300, invalid_utf8 45), 45 left out; resumed after record 1,000 -> out.csv")
        #expect(summary(failed: false).line.hasSuffix(", 0 failed; resumed after record 1,000"))
        #expect(summary().notes.isEmpty)
    }

    @Test("notes for an interrupted run and for an input error name where the output stops")
    func notes() {
        let notes = summary(interrupted: true, inputError: ScoreIOError("the gzip input x is corrupt")).notes
        #expect(
            notes == [
                "warden: stopped after input record 13345 of (standard input); every record up to it is in the output. Run the same command with --resume to continue.",
                "warden: the gzip input x is corrupt (the records before it, up to record 13345, were written)",
            ])
        #expect(summary(interrupted: true).line.hasPrefix("warden: 12,345 records (interrupted) in 2.0s"))
    }

    @Test("the JSON summary holds the totals, per-label counts, timings and exit status")
    func json() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: summary().jsonData()) as? [String: Any])
        #expect(
            object.keys.sorted() == [
                "buffered_bytes_high_water", "elapsed_seconds", "exit_code", "failed", "failed_by_code", "flagged", "flagged_per_label", "input",
                "input_format", "interrupted", "last_record", "model", "model_load_seconds", "output", "output_format",
                "records", "resumed_after", "retried", "scored", "skipped_invalid", "throughput_per_second", "truncated", "written",
            ])
        #expect(object["input"] as? String == "-" && object["input_format"] as? String == "jsonl" && object["output_format"] as? String == "csv")
        #expect(object["records"] as? Int == 12_345 && object["failed"] as? Int == 345 && object["exit_code"] as? Int == 2)
        #expect(object["flagged_per_label"] as? [String: Int] == ["toxic": 1_000, "spam": 234])
        #expect(object["failed_by_code"] as? [String: Int] == ["empty_text": 300, "invalid_utf8": 45])
        #expect(object["elapsed_seconds"] as? Double == 2 && object["model_load_seconds"] as? Double == 1.5)
        #expect(object["throughput_per_second"] as? Double == 6172.5)
        #expect(object["interrupted"] as? Bool == false)
    }
}

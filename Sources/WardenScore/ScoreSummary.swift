import Foundation
import WardenCore

/// What a finished `warden score` run reports: the summary line and notes for standard error, the
/// `--summary-json` document, and the exit status.
public struct ScoreSummary: Sendable {
    /// The input path as given ("-": standard input).
    public var input: String
    /// The output path as given ("-": standard output).
    public var output: String
    public var inputFormat: InputFormat
    public var outputFormat: OutputFormat
    /// The model directory.
    public var model: String
    /// The model's labels, in the order of ``ScoreTally/flaggedPerLabel``.
    public var labels: [String]
    public var tally: ScoreTally
    /// The run was stopped by a signal (see ``ScoreJob/interrupted``).
    public var interrupted: Bool
    /// The read error that ended the input early (see ``ScoreJob/inputError``).
    public var inputError: ScoreIOError?
    /// Where the records of an interrupted run are when the output is left as it was until a run completes
    /// (``OutputFile/unfinishedPath``).
    public var unfinishedOutput: String?
    /// Time spent scoring, after the resume skip.
    public var scoringTime: Duration
    /// Time from the start of the command to the loaded model.
    public var modelLoadTime: Duration

    public init(
        input: String, output: String, inputFormat: InputFormat, outputFormat: OutputFormat, model: String,
        labels: [String], tally: ScoreTally, interrupted: Bool = false, inputError: ScoreIOError? = nil,
        unfinishedOutput: String? = nil, scoringTime: Duration = .zero, modelLoadTime: Duration = .zero
    ) {
        self.input = input
        self.output = output
        self.inputFormat = inputFormat
        self.outputFormat = outputFormat
        self.model = model
        self.labels = labels
        self.tally = tally
        self.interrupted = interrupted
        self.inputError = inputError
        self.unfinishedOutput = unfinishedOutput
        self.scoringTime = scoringTime
        self.modelLoadTime = modelLoadTime
    }

    /// The summary of `job`, after its `run()` returned, which wrote `output` (the path as given; default the
    /// writer's) through `file`.
    public init(job: ScoreJob, model: String, modelLoadTime: Duration, output: String? = nil, file: OutputFile? = nil) {
        self.init(
            input: job.reader.source.path, output: output ?? job.writer.path, inputFormat: job.reader.settings.format,
            outputFormat: job.writer.layout.format, model: model, labels: job.engine.bundle.labels, tally: job.tally,
            interrupted: job.interrupted, inputError: job.inputError, unfinishedOutput: file?.unfinishedPath,
            scoringTime: job.scoringTime, modelLoadTime: modelLoadTime)
    }

    /// 130 interrupted; 1 the input could not be read to its end; 2 some records were bad or failed to
    /// score; 0 every record was scored.
    public var exitCode: Int32 {
        interrupted ? 130 : inputError != nil ? 1 : tally.failed > 0 ? 2 : 0
    }

    /// Records per second of scoring time.
    public var throughput: Double {
        let elapsed = scoringTime.seconds
        return elapsed > 0 ? Double(tally.records) / elapsed : 0
    }

    /// The one summary line for standard error (left out with `--quiet`), without its newline.
    public var line: String {
        var line = "warden: \(ProgressDisplay.grouped(tally.records)) records\(interrupted ? " (interrupted)" : "")"
        line += " in \(ProgressDisplay.duration(scoringTime.seconds)) (\(ProgressDisplay.grouped(Int(throughput))) msg/s)"
        let perLabel = zip(labels, tally.flaggedPerLabel).map { "\($0) \(ProgressDisplay.grouped($1))" }.joined(separator: ", ")
        line += ": \(ProgressDisplay.grouped(tally.scored)) scored, \(ProgressDisplay.grouped(tally.flagged)) flagged (\(perLabel))"
        if tally.truncated > 0 { line += ", \(ProgressDisplay.grouped(tally.truncated)) truncated" }
        line += ", \(ProgressDisplay.grouped(tally.failed)) failed"
        if !tally.failedByCode.isEmpty {
            line += " (" + tally.failedByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        if tally.skippedInvalid > 0 { line += ", \(tally.skippedInvalid) left out" }
        if tally.resumedAfter > 0 { line += "; resumed after record \(ProgressDisplay.grouped(tally.resumedAfter))" }
        if tally.retried > 0 { line += ", retried \(ProgressDisplay.grouped(tally.retried)) earlier failures" }
        if output != "-" { line += " -> \(output)" }
        return line
    }

    /// Lines for standard error that are written even with `--quiet`: how to continue an interrupted run,
    /// and the read error that ended the input. Without newlines.
    public var notes: [String] {
        var notes: [String] = []
        if interrupted {
            let shownInput = input == "-" ? "(standard input)" : input
            if let unfinishedOutput {
                notes.append(
                    "warden: stopped after input record \(tally.lastRecord) of \(shownInput); every record up to it is in \(unfinishedOutput) (\(output) is replaced once a run completes). Run the same command with --resume to continue."
                )
            } else {
                notes.append(
                    "warden: stopped after input record \(tally.lastRecord) of \(shownInput); every record up to it is in the output. Run the same command with --resume to continue."
                )
            }
        }
        if let inputError {
            notes.append("warden: \(inputError) (the records before it, up to record \(tally.lastRecord), were written)")
        }
        return notes
    }

    /// The `--summary-json` document: a JSON object with sorted keys, pretty-printed.
    /// Writes ``jsonData()`` to `path`.
    public func writeJSON(to path: String) throws(ScoreRunError) {
        do {
            try jsonData().write(to: URL(fileURLWithPath: path))
        } catch {
            throw ScoreRunError("cannot write the summary to \(path): \(error.localizedDescription)")
        }
    }

    public func jsonData() throws -> Data {
        let object: [String: Any] = [
            "input": input, "output": output,
            "input_format": inputFormat.rawValue, "output_format": outputFormat.rawValue,
            "model": model,
            "records": tally.records, "scored": tally.scored, "flagged": tally.flagged, "truncated": tally.truncated,
            "flagged_per_label": Dictionary(uniqueKeysWithValues: zip(labels, tally.flaggedPerLabel)),
            "failed": tally.failed, "failed_by_code": tally.failedByCode,
            "skipped_invalid": tally.skippedInvalid, "written": tally.written,
            "last_record": tally.lastRecord, "resumed_after": tally.resumedAfter, "retried": tally.retried,
            "buffered_bytes_high_water": tally.bufferedBytesHighWater,
            "elapsed_seconds": scoringTime.seconds, "model_load_seconds": modelLoadTime.seconds,
            "throughput_per_second": throughput,
            "interrupted": interrupted, "exit_code": Int(exitCode),
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    }
}

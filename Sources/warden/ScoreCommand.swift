import ArgumentParser
import Foundation
import Logging
import WardenCore
import WardenScore

/// The reader's defaults, quoted by the options.
private let readerDefaults = ReaderSettings(format: .text)

/// `warden score`: scores a file of messages with the same engine as the server (bulk lane), streaming.
struct ScoreCommand: AsyncParsableCommand, RunsModel {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score a file of messages (plain text, JSON Lines or CSV; gzip recognised) and write one result per record.",
        discussion: """
            Results are written in input order as JSON Lines (default) or CSV. A bad record (invalid UTF-8, \
            malformed JSON or CSV, missing field, empty text, too long) becomes an error record with its line \
            number, or is left out with --skip-invalid; it never stops the run.

            Exit status: 0 every record was scored; 2 some records were bad or failed to score (see the \
            summary); 1 the input, output or model could not be used (nothing or only part was written); \
            130 interrupted by SIGINT/SIGTERM after finishing and writing the records in flight (run again \
            with --resume); 64 invalid options.

            The output file is written as OUTPUT.partial beside it and renamed into place when the run ends, so \
            it is only ever replaced by a finished run; an interrupted run leaves its records in OUTPUT.partial \
            for --resume. The output may not be the input file (nor a link to it).
            """)

    @Argument(help: ArgumentHelp(ScoreHelp.input)) var input: String = "-"
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp(ScoreHelp.output)) var output: String = "-"
    @Option(help: ArgumentHelp(ScoreHelp.format)) var format: String?
    @Option(help: ArgumentHelp(ScoreHelp.outputFormat)) var outputFormat: String?
    @Option(help: ArgumentHelp(ScoreHelp.textField)) var textField = readerDefaults.textField
    @Option(help: ArgumentHelp(ScoreHelp.textColumn)) var textColumn = readerDefaults.textColumn
    @Option(help: ArgumentHelp(ScoreHelp.idField)) var idField = readerDefaults.idField
    @Flag(help: ArgumentHelp(ScoreHelp.includeText)) var includeText = false
    @Flag(help: ArgumentHelp(ScoreHelp.onlyFlagged)) var onlyFlagged = false
    @Flag(help: ArgumentHelp(ScoreHelp.explain)) var explain = false
    @Option(name: .customLong("threshold"), help: ArgumentHelp(ScoreHelp.thresholds, valueName: "label=x")) var thresholds: [String] = []
    @Flag(help: ArgumentHelp(ScoreHelp.skipInvalid)) var skipInvalid = false
    @Flag(help: ArgumentHelp(ScoreHelp.resume)) var resume = false
    @Option(help: ArgumentHelp(ScoreHelp.maxRecords)) var maxRecords: Int?
    @Option(help: ArgumentHelp(ScoreHelp.groupSize)) var groupSize: Int?
    @Option(help: ArgumentHelp(ScoreHelp.window)) var window = ScoreJobSettings().window
    @Option(help: ArgumentHelp(ScoreHelp.reorderLimit)) var reorderLimit: Int?
    @Option(help: ArgumentHelp(ScoreHelp.maxRecordBytes)) var maxRecordBytes = ReaderSettings.defaultMaxRecordBytes
    @Option(help: ArgumentHelp(ScoreHelp.maxBufferedBytes)) var maxBufferedBytes = ScoreJobSettings().maxBufferedBytes
    @Flag(help: ArgumentHelp(ScoreHelp.progress)) var progress = false
    @Flag(name: [.customShort("q"), .long], help: ArgumentHelp(ScoreHelp.quiet)) var quiet = false
    @Option(help: ArgumentHelp(ScoreHelp.summaryJson)) var summaryJson: String?

    @OptionGroup var engine: EngineOptions

    /// The log level of `score` without `--log-level`: its output is the records and the summary.
    static let defaultLogLevel = Logger.Level.warning

    func validate() throws {
        if let format, InputFormat(rawValue: format) == nil {
            throw ValidationError("--format must be text, jsonl or csv (got '\(format)')")
        }
        if let outputFormat, OutputFormat(rawValue: outputFormat) == nil {
            throw ValidationError("--output-format must be jsonl or csv (got '\(outputFormat)')")
        }
        if resume, output == "-" { throw ValidationError("--resume needs an output file (-o FILE)") }
        if let maxRecords, maxRecords < 0 { throw ValidationError("--max-records must not be negative") }
        if let groupSize, groupSize < 1 { throw ValidationError("--group-size must be at least 1") }
        if window < 1 { throw ValidationError("--window must be at least 1") }
        if let reorderLimit, reorderLimit < 1 { throw ValidationError("--reorder-limit must be at least 1") }
        if maxRecordBytes < 16 { throw ValidationError("--max-record-bytes must be at least 16") }
        if maxBufferedBytes < maxRecordBytes {
            throw ValidationError("--max-buffered-bytes must be at least --max-record-bytes (\(maxRecordBytes))")
        }
        if progress, quiet { throw ValidationError("--progress and --quiet cannot be used together") }
        _ = try parsedThresholds()
    }

    func parsedThresholds() throws -> [String: Float] {
        do { return try ScoreRun.thresholds(thresholds) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        let logger = try engine.startLogging(label: "warden.score", default: Self.defaultLogLevel)
        let model = engine.model.resolvedModelDirectory()
        let summary: ScoreSummary
        do {
            summary = try await scoreRun().run(model: model, logger: logger) { try engine.makeEngine(logger: logger) }
        } catch let error as EngineError {
            throw CommandFailure.modelNotLoaded(directory: model, error)
        } catch let error as ScoreRunError {
            throw CommandFailure(error.description)
        }
        for line in (quiet ? [] : [summary.line]) + summary.notes { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        do { try summaryJson.map(summary.writeJSON) } catch { throw CommandFailure("\(error)") }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }

    /// The run the flags describe.
    func scoreRun() throws -> ScoreRun {
        var run = ScoreRun(
            input: input, output: output, inputFormat: format.flatMap(InputFormat.init(rawValue:)),
            outputFormat: outputFormat.flatMap(OutputFormat.init(rawValue:)))
        run.reader = ReaderSettings(
            format: run.reader.format, textField: textField, textColumn: textColumn, idField: idField,
            maxRecordBytes: maxRecordBytes)
        run.includeText = includeText
        run.resume = resume
        run.thresholds = try parsedThresholds()
        run.groupSize = groupSize
        run.reorderLimit = reorderLimit
        run.job.window = window
        run.job.maxBufferedBytes = maxBufferedBytes
        run.job.onlyFlagged = onlyFlagged
        run.job.explain = explain
        run.job.skipInvalid = skipInvalid
        run.job.maxRecords = maxRecords
        run.job.progress = !quiet && (progress || isatty(STDERR_FILENO) == 1)
        return run
    }
}

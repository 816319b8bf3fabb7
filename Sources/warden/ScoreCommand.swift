import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TorchBackend
import WardenCore
import WardenScore
import WordPiece

/// `warden score`: scores a file of messages with the same engine as the server (bulk lane), streaming.
struct ScoreCommand: AsyncParsableCommand {
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

    @Argument(help: "Input file, or '-' for standard input (default). Gzip input is detected by its first bytes.")
    var input: String = "-"

    @Option(name: [.customShort("o"), .long], help: "Output file, or '-' for standard output (default).")
    var output: String = "-"

    @Option(help: "Input format: text (one message per line), jsonl or csv. Default: from the extension (.jsonl/.ndjson/.json, .csv, anything else is text; .gz ignored); text for standard input.")
    var format: String?

    @Option(help: "Output format: jsonl or csv. Default: csv for a .csv output file, else jsonl.")
    var outputFormat: String?

    @Option(help: "JSON Lines member holding the text; the other members are carried to the output.")
    var textField = "text"

    @Option(help: "CSV column holding the text (the first row is the header); the other columns are carried to the output.")
    var textColumn = "text"

    @Option(help: "JSON Lines member carried into CSV output as the record's id.")
    var idField = "id"

    @Flag(help: "Write the text into each output record too.")
    var includeText = false

    @Flag(help: "Write only flagged records (and error records).")
    var onlyFlagged = false

    @Option(name: .customLong("threshold"), help: ArgumentHelp("Flag threshold for one label, overriding the model's (repeatable).", valueName: "label=x"))
    var thresholds: [String] = []

    @Flag(help: "Leave bad input records out of the output instead of writing error records (they still count as failed).")
    var skipInvalid = false

    @Flag(help: "Continue an interrupted run (from OUTPUT.partial if there is one, else the output file): keep its complete records, score the records that failed to score again, and score the rest of the input.")
    var resume = false

    @Option(help: "Score at most this many records (after those skipped by --resume).")
    var maxRecords: Int?

    @Option(help: "Records per engine submission (default: 2 x the maximum batch size).")
    var groupSize: Int?

    @Option(help: "Most records submitted to the engine and not yet answered (default 1024).")
    var window = 1024

    @Option(help: "Most records read but not yet written, waiting for an earlier group; bounds memory (default 8 x --window).")
    var reorderLimit: Int?

    @Option(help: "Longest record in bytes; a longer one becomes an error record (default 1048576).")
    var maxRecordBytes = 1 << 20

    @Option(help: "Most bytes of records (texts and carried fields) read but not yet written; bounds memory whatever the record sizes, beside --window and --reorder-limit. At least --max-record-bytes (default 67108864, 64 MiB).")
    var maxBufferedBytes = ScoreJobSettings().maxBufferedBytes

    @Flag(help: "Show progress on standard error even when it is not a terminal.")
    var progress = false

    @Flag(name: [.customShort("q"), .long], help: "No progress and no summary line.")
    var quiet = false

    @Option(help: "Also write the summary as JSON to this file.")
    var summaryJson: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env WARDEN_LOG_LEVEL; default warning).")
    var logLevel: String?

    @OptionGroup(title: "Model and threads") var model: ModelOptions
    @OptionGroup(title: "Batching") var batching: BatchingOptions

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
        var result: [String: Float] = [:]
        for item in thresholds {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let value = Float(parts[1]), value.isFinite, (0...1).contains(value) else {
                throw ValidationError("--threshold needs label=x with x between 0 and 1 (got '\(item)')")
            }
            result[parts[0]] = value
        }
        return result
    }

    func run() async throws {
        let level = try resolveLogLevel(logLevel, default: .warning)
        bootstrapLogging(level: level)
        var logger = Logger(label: "warden.score")
        logger.logLevel = level
        let clock = ContinuousClock()
        let started = clock.now

        let inputFormat = format.flatMap(InputFormat.init(rawValue:)) ?? (input == "-" ? .text : InputFormat.guess(path: input))
        let outputFormat = outputFormat.flatMap(OutputFormat.init(rawValue:)) ?? (output == "-" ? .jsonl : OutputFormat.guess(path: output))

        // Output (never the input), resume point and input: fail at once, before the model loads.
        let file: OutputFile
        let reader: RecordReader
        do {
            file = try OutputFile.prepare(output: output, input: input, resume: resume, format: outputFormat)
        } catch {
            throw CommandFailure("\(error)")
        }
        // A run that does not get to its end leaves the output as it was and no file of its own.
        var ended = false
        defer { if !ended { file.abandon() } }
        do {
            reader = try RecordReader(path: input, settings: ReaderSettings(format: inputFormat, textField: textField, textColumn: textColumn,
                                                                            idField: idField, maxRecordBytes: maxRecordBytes))
        } catch {
            throw CommandFailure("\(error)")
        }

        // The engine (the model loads when the group runs it).
        let directory = model.resolvedModelDirectory()
        let factory = try model.backendFactory(logger: logger)
        TorchRuntime.log(factory.runtime, to: logger)
        let engine: ModerationEngine
        do {
            engine = try ModerationEngine(modelDirectory: directory, configuration: try batching.configuration(workers: try model.resolvedWorkers()),
                                          backends: factory, logger: logger)
        } catch let error as EngineError {
            throw CommandFailure("cannot load the model in \(directory): \(error)")
        }
        let labels = engine.bundle.labels
        var overrides: [String: Float] = [:]
        for (name, value) in try parsedThresholds().sorted(by: { $0.key < $1.key }) {
            // A label, the OpenAI category it declares, or a former name of it (the manifest's label_aliases).
            guard let label = engine.bundle.label(named: name) else {
                throw CommandFailure("--threshold: unknown label \"\(name)\"; the model's labels are \(labels.joined(separator: ", "))")
            }
            overrides[label] = value
        }

        let layout = OutputLayout(format: outputFormat, labels: labels, carriedColumns: reader.carriedColumns, includeText: includeText)
        let writer: RecordWriter
        let previous: PreviousOutput?
        do {
            writer = try file.makeWriter(layout: layout)
            previous = try file.previousOutput()
        } catch {
            throw CommandFailure("\(error)")
        }

        var settings = ScoreJobSettings()
        settings.groupSize = groupSize ?? 2 * engine.configuration.batching.maxBatchSize
        settings.window = max(window, settings.groupSize)
        settings.reorderLimit = max(reorderLimit ?? 8 * settings.window, settings.window)
        settings.maxBufferedBytes = maxBufferedBytes
        settings.onlyFlagged = onlyFlagged
        settings.skipInvalid = skipInvalid
        settings.maxRecords = maxRecords
        settings.resumeAfter = file.resumePoint?.lastRecord ?? 0
        settings.progress = !quiet && (progress || isatty(STDERR_FILENO) == 1)
        let job = ScoreJob(reader: reader, writer: writer, engine: engine,
                           options: Moderator.Options(lane: .bulk, thresholds: overrides), settings: settings, previous: previous)

        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: engine),
                .init(service: job, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigint, .sigterm],
            logger: logger))
        do {
            try await group.run()
        } catch let error as ScoreIOError {
            throw CommandFailure("\(error)")
        } catch let error as EngineError {
            throw CommandFailure("cannot load the model in \(directory): \(error)")
        } catch {
            throw CommandFailure("scoring stopped: \(error)")
        }

        do {
            try file.finish(writer, interrupted: job.interrupted)
        } catch {
            throw CommandFailure("\(error)")
        }
        ended = true
        let summary = ScoreSummary(job: job, model: directory, modelLoadTime: (job.modelReadyAt ?? clock.now) - started,
                                   output: output, file: file)
        if !quiet { FileHandle.standardError.write(Data((summary.line + "\n").utf8)) }
        for note in summary.notes { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        if let summaryJson {
            do {
                try summary.jsonData().write(to: URL(fileURLWithPath: summaryJson))
            } catch {
                throw CommandFailure("cannot write the summary to \(summaryJson): \(error.localizedDescription)")
            }
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}

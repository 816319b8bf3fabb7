import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import WardenCore

/// `warden score` without the command line: one scoring run from an input to an output, over an engine the
/// caller builds (the model loads when the run starts it). The output and the input are opened before the
/// engine is built, so a path that cannot be used fails at once; the output is written as a partial file and
/// renamed into place only by a run that gets to its end (``OutputFile``).
public struct ScoreRun {
    /// The input path, `-` for standard input.
    public var input: String
    /// The output path, `-` for standard output.
    public var output: String
    /// How to read the input: its format (by default from the input's extension, text for standard input),
    /// the fields holding the text and the id, the longest record.
    public var reader: ReaderSettings
    /// The output's format (by default from the output's extension, JSON Lines for standard output).
    public var outputFormat: OutputFormat
    /// Write each record's text into its output record too.
    public var includeText = false
    /// Continue an interrupted run (``OutputFile/prepare(output:input:resume:format:)``).
    public var resume = false
    /// Flag thresholds by label, overriding the model's; each is named by a label, its OpenAI category or a former name.
    public var thresholds: [String: Float] = [:]
    /// Records per engine submission; nil: ``groupBatches`` times the engine's largest batch.
    public var groupSize: Int?
    /// Most records read and not yet written; nil: ``reorderWindows`` times the job's window.
    public var reorderLimit: Int?
    /// The job's other settings; its group size, window, reorder limit and resume point follow from the
    /// fields above and the engine.
    public var job = ScoreJobSettings()

    /// `thresholds` keyed by the labels they name: a name may be a label, the OpenAI category a label declares,
    /// or a former name of a label (the manifest's `label_aliases`).
    ///
    /// - Throws: ``ScoreRunError`` naming the first unknown name and the model's labels.
    public static func resolve(_ thresholds: [String: Float], in bundle: ModelBundle) throws(ScoreRunError) -> [String: Float] {
        var resolved: [String: Float] = [:]
        for (name, value) in thresholds.sorted(by: { $0.key < $1.key }) {
            guard let label = bundle.label(named: name) else {
                throw ScoreRunError("--threshold: unknown label \"\(name)\"; the model's labels are \(bundle.labels.joined(separator: ", "))")
            }
            resolved[label] = value
        }
        return resolved
    }

    /// Thresholds from `label=x` items (`--threshold`), x between 0 and 1.
    public static func thresholds(_ items: [String]) throws(ScoreRunError) -> [String: Float] {
        var result: [String: Float] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let value = Float(parts[1]), value.isFinite, (0...1).contains(value) else {
                throw ScoreRunError("--threshold needs label=x with x between 0 and 1 (got '\(item)')")
            }
            result[parts[0]] = value
        }
        return result
    }

    /// Default group size, in engine batches: enough for full bulk batches.
    public static let groupBatches = 2
    /// Default reorder limit, in windows.
    public static let reorderWindows = 8

    /// A run from `input` to `output`, in the formats given or guessed from the paths.
    public init(input: String, output: String, inputFormat: InputFormat? = nil, outputFormat: OutputFormat? = nil) {
        self.input = input
        self.output = output
        reader = ReaderSettings(format: inputFormat ?? (input == "-" ? .text : InputFormat.guess(path: input)))
        self.outputFormat = outputFormat ?? (output == "-" ? .jsonl : OutputFormat.guess(path: output))
    }

    /// Scores the input into the output with the engine `makeEngine` builds, until the input ends or SIGINT or
    /// SIGTERM, and returns the summary of what was done; `model` names the model in it.
    ///
    /// - Throws: ``ScoreRunError`` when the input, the output or a threshold cannot be used or scoring stopped,
    ///   `EngineError` when the model cannot be loaded, and what `makeEngine` throws.
    public func run(model: String, logger: Logger, makeEngine: () throws -> ModerationEngine) async throws -> ScoreSummary {
        let started = ContinuousClock.now
        if job.explain && outputFormat != .jsonl {
            throw ScoreRunError("--explain writes highlights into JSON Lines output only; give an output ending in .jsonl (or - for standard output)")
        }
        let file = try ScoreRunError.wrapping { try OutputFile.prepare(output: output, input: input, resume: resume, format: outputFormat) }
        // A run that does not get to its end leaves the output as it was and no file of its own.
        var ended = false
        defer { if !ended { file.abandon() } }
        let reader = try ScoreRunError.wrapping { try RecordReader(path: input, settings: self.reader) }
        let engine = try makeEngine()
        let labels = engine.bundle.labels
        let thresholds = try Self.resolve(thresholds, in: engine.bundle)
        let layout = OutputLayout(format: outputFormat, labels: labels, carriedColumns: reader.carriedColumns, includeText: includeText)
        let (writer, previous) = try ScoreRunError.wrapping { (try file.makeWriter(layout: layout), try file.previousOutput()) }
        let job = ScoreJob(
            reader: reader, writer: writer, engine: engine, options: Moderator.Options(lane: .bulk, thresholds: thresholds),
            settings: jobSettings(engine: engine, resumeAfter: file.resumePoint?.lastRecord ?? 0), previous: previous)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: engine), .init(service: job, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        do {
            try await group.run()
        } catch let error as ScoreIOError {
            throw ScoreRunError("\(error)")
        } catch let error as EngineError {
            throw error
        } catch {
            throw ScoreRunError("scoring stopped: \(error)")
        }
        try ScoreRunError.wrapping { try file.finish(writer, interrupted: job.interrupted) }
        ended = true
        return ScoreSummary(job: job, model: model, modelLoadTime: (job.modelReadyAt ?? .now) - started, output: output, file: file)
    }

    /// The job's settings for `engine`: the group, window and reorder limit fitted to its batches.
    func jobSettings(engine: ModerationEngine, resumeAfter: Int) -> ScoreJobSettings {
        var settings = job
        settings.groupSize = groupSize ?? Self.groupBatches * engine.configuration.batching.maxBatchSize
        settings.window = max(settings.window, settings.groupSize)
        settings.reorderLimit = max(reorderLimit ?? Self.reorderWindows * settings.window, settings.window)
        settings.resumeAfter = resumeAfter
        return settings
    }
}

/// A scoring run that could not be done: an input or output that cannot be used, a threshold for a label the
/// model does not have, scoring that stopped. The description is one line for the user.
public struct ScoreRunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// `body`'s result; what it throws becomes a ``ScoreRunError`` with the error's description.
    static func wrapping<T>(_ body: () throws -> T) throws(ScoreRunError) -> T {
        do { return try body() } catch { throw ScoreRunError("\(error)") }
    }
}

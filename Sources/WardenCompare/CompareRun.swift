import Foundation
import Logging
import WardenCore
import WardenScore

/// `warden compare` without the command line: both models score the input (each a ``ScoreRun`` into a temporary
/// JSON Lines file, with the text), one after the other, and the two outputs are compared.
public struct CompareRun {
    public var modelA: String
    public var modelB: String
    /// The input path (a file: it is read once per model).
    public var input: String
    /// How to read the input (as `warden score` does).
    public var reader: ReaderSettings
    /// Score at most this many records.
    public var maxRecords: Int?
    /// How many of the largest disagreements the report lists.
    public var top = 20
    /// Show each scoring run's progress on standard error.
    public var progress = false
    /// Write a line per scoring run to standard error (which model, then its summary).
    public var announce = true

    public init(modelA: String, modelB: String, input: String, inputFormat: InputFormat? = nil) {
        self.modelA = modelA
        self.modelB = modelB
        self.input = input
        reader = ReaderSettings(format: inputFormat ?? InputFormat.guess(path: input))
    }

    /// The comparison, and every compared record's two scores per category as CSV (for the chart).
    public struct Outcome: Sendable {
        public var comparison: ModelComparison
        public var scoresCSV: String
    }

    /// Scores the input with each model's engine (`makeEngine` builds the engine of a model folder) and compares.
    ///
    /// - Throws: ``CompareRunError``: a model that cannot be loaded (with its folder), an input that cannot be
    ///   read, an interrupted run, models with no category in common.
    public func run(logger: Logger, makeEngine: (String) throws -> ModerationEngine) async throws(CompareRunError) -> Outcome {
        var bundles: [ModelBundle] = []
        for directory in [modelA, modelB] {
            do { bundles.append(try ModelBundle.load(directory: directory)) } catch {
                throw .modelNotLoaded(directory: directory, reason: "\(error)", engineError: nil)
            }
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-compare-\(getpid())-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw .failed("cannot make a temporary folder: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        var outputs: [(records: [Int: ScoredRecord], unscored: Int)] = []
        for (name, directory) in [("A", modelA), ("B", modelB)] {
            outputs.append(
                try await score(
                    name: name, directory: directory, into: folder.appendingPathComponent("\(name).jsonl").path, logger: logger, makeEngine: makeEngine))
        }
        let pairs = bundles[0].sharedCategories(with: bundles[1])
        let described = zip(bundles, [modelA, modelB]).map { bundle, directory in
            ModelComparison.Model(name: bundle.name, version: bundle.version, directory: directory, labels: bundle.labels)
        }
        do {
            let comparison = try ModelComparison(modelA: described[0], modelB: described[1], a: outputs[0], b: outputs[1], categories: pairs, top: top)
            let thresholds = bundles.map { Dictionary(uniqueKeysWithValues: zip($0.labels, $0.thresholds)) }
            let csv = ModelComparison.scoresCSV(
                a: outputs[0].records, b: outputs[1].records, categories: pairs, thresholdsA: thresholds[0], thresholdsB: thresholds[1])
            return Outcome(comparison: comparison, scoresCSV: csv)
        } catch {
            throw .failed("\(error)")
        }
    }

    /// One model's scoring run of the input into `output`, read back.
    private func score(
        name: String, directory: String, into output: String, logger: Logger, makeEngine: (String) throws -> ModerationEngine
    ) async throws(CompareRunError) -> (records: [Int: ScoredRecord], unscored: Int) {
        var run = ScoreRun(input: input, output: output, inputFormat: reader.format, outputFormat: .jsonl)
        run.reader = reader
        run.includeText = true
        run.job.maxRecords = maxRecords
        run.job.progress = progress
        if announce { FileHandle.standardError.write(Data("scoring with \(name): \(directory)\n".utf8)) }
        let summary: ScoreSummary
        do {
            summary = try await run.run(model: directory, logger: logger) { try makeEngine(directory) }
        } catch let error as EngineError {
            throw .modelNotLoaded(directory: directory, reason: error.description, engineError: error)
        } catch {
            throw .failed("\(error)")
        }
        if summary.interrupted { throw .interrupted }
        if summary.inputError != nil { throw .failed("cannot read \(input) to its end: \(summary.line)") }
        if announce { FileHandle.standardError.write(Data((summary.line + "\n").utf8)) }
        do { return try ScoredRecord.read(jsonLines: Data(contentsOf: URL(fileURLWithPath: output))) } catch {
            throw .failed("cannot read back model \(name)'s scores: \(error)")
        }
    }
}

/// Why a comparison did not finish.
public enum CompareRunError: Error, CustomStringConvertible {
    /// A model's folder could not be loaded (the engine's error when the engine failed).
    case modelNotLoaded(directory: String, reason: String, engineError: EngineError?)
    /// Stopped by SIGINT or SIGTERM.
    case interrupted
    case failed(String)

    public var description: String {
        switch self {
        case .modelNotLoaded(let directory, let reason, _): "cannot load the model in \(directory): \(reason)"
        case .interrupted: "interrupted"
        case .failed(let reason): reason
        }
    }
}

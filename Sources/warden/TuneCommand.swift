import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore
import WardenTune
import WordPiece

/// `warden tune`: measures the engine in-process (no HTTP) over a grid of batching, precision and thread
/// settings with a closed loop of concurrent single-message callers, and recommends `warden serve` flags.
///
/// Thread settings (`TorchRuntime.apply`) are process-wide and applied once, so each workers × threads
/// combination runs in a child process (the same binary, `tune --child`) unless there is only one.
struct TuneCommand: AsyncParsableCommand, RunsModel {
    /// The grid and measurement of a run without flags.
    private static let grid = TuneGrid()

    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Measure throughput and latency over batch size x queue delay x precision x threads; recommend serve flags.",
        discussion: """
            Each cell runs --concurrency callers, each sending one random corpus message at a time to the \
            engine (tokenizer + batcher + model, no HTTP) for --warmup then --seconds. The result cache is \
            off by default (--cache-size) so repeats are computed. The recommendation is the cell with the \
            highest throughput whose p99 latency is within --p99-ms. A model stored in bf16 is measured in bf16 and in \
            fp32 (--precisions), each cell on both, so the recommendation names the precision too.
            Example, the batching gain at 64 callers: warden tune --batch-sizes 1,32 --delays 2 --threads 2x1x1 \
            --concurrency 64
            """)

    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(help: ArgumentHelp(TuneHelp.batchSizes)) var batchSizes = grid.batchSizes
    @Option(help: ArgumentHelp(TuneHelp.delays)) var delays = grid.delays
    @Option(help: ArgumentHelp(TuneHelp.layouts)) var layouts: String?
    @Option(help: ArgumentHelp(TuneHelp.threads)) var threads = grid.threads
    @Option(help: ArgumentHelp(TuneHelp.precisions)) var precisions: String?
    @Option(help: ArgumentHelp(TuneHelp.maxBatchTokens)) var maxBatchTokens = grid.spec.maxBatchTokens
    @Option(help: ArgumentHelp(TuneHelp.minPaddingEfficiency)) var minPaddingEfficiency: Double?
    @Option(help: ArgumentHelp(TuneHelp.concurrency)) var concurrency = grid.spec.concurrency
    @Option(help: ArgumentHelp(TuneHelp.seconds)) var seconds = grid.spec.seconds
    @Option(help: ArgumentHelp(TuneHelp.warmup)) var warmup = grid.spec.warmup
    @Option(help: ArgumentHelp(TuneHelp.rounds)) var rounds = grid.rounds
    @Option(help: ArgumentHelp(TuneHelp.corpus)) var corpus: String?
    @Option(help: ArgumentHelp(TuneHelp.p99Ms)) var p99Ms = grid.p99TargetMs
    @Option(help: ArgumentHelp(TuneHelp.cacheSize)) var cacheSize = grid.spec.cacheSize
    @Option(help: ArgumentHelp(TuneHelp.csv)) var csv: String?
    @Option(help: ArgumentHelp(TuneHelp.png)) var png: String?
    @Option(help: ArgumentHelp(TuneHelp.seed)) var seed = grid.spec.seed
    @Flag(help: .hidden) var child = false

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard seconds > 0, warmup >= 0 else { throw ValidationError("--seconds must be > 0 and --warmup >= 0") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        do {
            _ = try TuneGrid.integers(batchSizes, flag: "--batch-sizes")
            _ = try TuneGrid.numbers(delays, flag: "--delays")
            _ = try TuneGrid.combos(threads)
            if let layouts { _ = try TuneGrid.layouts(layouts) }
            if let precisions { _ = try PrecisionPolicy.list(precisions) }
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        bootstrapLogging(level: .warning)
        let combos = try TuneGrid.combos(threads)
        let layoutList = try resolvedLayouts()
        let precisionList = try resolvedPrecisions()
        let messages = try TuneGrid.corpus(path: corpus ?? ResourceLocator.path(TuneHelp.defaultCorpus))
        if child {
            // One combination in this process; results as CSV lines on stdout.
            for result in try await runGrid(combo: combos[0], layouts: layoutList, precisions: precisionList, messages: messages) {
                print(TuneChild.line(result))
            }
            fflush(nil)
            return
        }
        print(
            "warden tune: \(messages.count) messages, \(concurrency) callers, \(warmup)s warm-up + \(seconds)s per cell, cache \(cacheSize), load average \(loadAverage())"
        )
        print(
            "grid: layouts \(layoutList.map(\.description)), precisions \(precisionList.map(\.rawValue)), batch sizes \(batchSizes), delays ms \(delays), threads (workers x torch x blas) \(combos.map(\.description)), rounds \(rounds)"
        )
        let core = TorchRuntime.blasCore
        print("BLAS: OpenBLAS core \(core.coreLabel) (\(core.plan)); fp32 check \(core.check)")
        print(TuneResult.tableHeader)
        let results = try await measure(combos: combos, layouts: layoutList, precisions: precisionList, messages: messages)
        let report = TuneReport(results: results, p99TargetMs: p99Ms)
        for line in report.table + ["load average after: \(loadAverage())"] + report.lines { print(line) }
        try writeFiles(report)
    }

    /// Every cell of the grid on every thread combination, each shown as it is known: in this process for one
    /// combination, else in a child process per combination (thread settings are process-wide).
    private func measure(combos: [ThreadCombo], layouts: [TuneLayout], precisions: [PrecisionPolicy], messages: [String]) async throws
        -> [TuneResult]
    {
        let show = { (result: TuneResult) in
            print(result.tableLine)
            fflush(nil)
        }
        if combos.count == 1 {
            return try await runGrid(combo: combos[0], layouts: layouts, precisions: precisions, messages: messages, progress: show)
        }
        var results: [TuneResult] = []
        for combo in combos {
            let arguments = TuneChild.arguments(
                combo: combo, batchSizes: batchSizes, delays: delays, layouts: layouts, precisions: precisions.map(\.rawValue), spec: spec,
                rounds: rounds, model: model.resolvedModelDirectory(), corpus: corpus)
            results += try TuneChild.run(
                executable: URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath(), arguments: arguments,
                progress: show)
        }
        return results
    }

    /// `--csv` and `--png`: the table as CSV, and its chart (drawn from a temporary CSV without `--csv`).
    private func writeFiles(_ report: TuneReport) throws {
        guard csv != nil || png != nil else { return }
        let path = csv ?? NSTemporaryDirectory() + "warden-tune-\(getpid()).csv"
        try report.csv.write(toFile: path, atomically: true, encoding: .utf8)
        if let csv { print("wrote \(csv)") }
        guard let png else { return }
        guard let script = ResourceLocator.find(TuneHelp.chartScript) else { return print("chart: \(TuneHelp.chartScript) not found; skipped") }
        print(ChartScript.draw(script: script, csv: path, png: png))
    }

    /// Applies `combo`'s threads (once per process), loads the model in each precision and measures the grid.
    private func runGrid(
        combo: ThreadCombo, layouts: [TuneLayout], precisions: [PrecisionPolicy], messages: [String],
        progress: (TuneResult) -> Void = { _ in }
    ) async throws -> [TuneResult] {
        let bundle = try ModelBundle.load(directory: model.resolvedModelDirectory())
        let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        let runtime = TorchRuntimeSettings(intraOpThreads: combo.torch, interOpThreads: 1, blasThreads: combo.blas)
        let factories = precisions.map { TorchBackendFactory(runtime: runtime, precision: $0) }
        return try await TuneRunner.runGrid(
            bundle: bundle, tokenizer: tokenizer, variants: factories, combo: combo,
            sizes: try TuneGrid.integers(batchSizes, flag: "--batch-sizes"),
            delays: try TuneGrid.numbers(delays, flag: "--delays"), layouts: layouts, spec: spec,
            messages: messages, rounds: rounds, progress: progress)
    }

    /// Each cell's measurement, from the flags.
    private var spec: TuneRunner.Spec {
        TuneRunner.Spec(
            concurrency: concurrency, seconds: seconds, warmup: warmup, cacheSize: cacheSize, maxBatchTokens: maxBatchTokens,
            seed: seed, minPaddingEfficiency: minPaddingEfficiency)
    }
}

/// The layouts to measure: `--layouts`, or padded plus packed rows when the model declares a packed entry point.
/// The precisions: `--precisions`; else `--precision` when it names one; else every candidate of `auto` for the model.
extension TuneCommand {
    func resolvedLayouts() throws -> [TuneLayout] {
        if let layouts { return try TuneGrid.layouts(layouts) }
        let packs = try ModelBundle.load(directory: model.resolvedModelDirectory()).packedEntryPoint != nil
        return packs ? [.padded, .packed(rowTokens: EngineConfiguration().batching.packedRowTokens)] : [.padded]
    }

    func resolvedPrecisions() throws -> [PrecisionPolicy] {
        do {
            if let precisions { return try PrecisionPolicy.list(precisions) }
            return try model.resolvedPrecision().choices(
                storedPrecision: ModelBundle.load(directory: model.resolvedModelDirectory()).precision,
                fp32Verified: TorchRuntime.blasCore.fp32Verified)
        } catch let error as PrecisionPlanError {
            throw ValidationError(error.description)
        }
    }
}

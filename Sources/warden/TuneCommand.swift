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
struct TuneCommand: AsyncParsableCommand {
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

    @Option(help: "Comma-separated maxBatchSize values.")
    var batchSizes: String = "1,4,8,16,32"

    @Option(help: "Comma-separated maxQueueDelay values in ms (interactive lane).")
    var delays: String = "0,2,5"

    @Option(help: "Comma-separated batch layouts: 'padded' and/or 'packedN' (messages packed into rows of N tokens; needs a model with a packed entry point). Default: padded,packed128 when the model can pack, else padded.")
    var layouts: String?

    @Option(help: "Comma-separated WORKERSxTORCHxBLAS thread combinations, e.g. 1x1x2,1x2x1,2x1x1.")
    var threads: String = "1x1x2,1x2x1,2x1x1"

    @Option(help: "Comma-separated precisions: bf16 and/or fp32. Default: --precision when it names one, else every precision --precision auto chooses from (bf16,fp32 for a model stored in bf16).")
    var precisions: String?

    @Option(help: "Most padded tokens per model call (maxBatchTokens).")
    var maxBatchTokens: Int = 4096

    @Option(help: "Least padding efficiency an item may bring a batch down to (minPaddingEfficiency; default the engine's).")
    var minPaddingEfficiency: Double?

    @Option(help: "Concurrent single-message callers (closed loop).")
    var concurrency: Int = 64

    @Option(help: "Measured seconds per cell.")
    var seconds: Double = 10

    @Option(help: "Warm-up seconds per cell (discarded).")
    var warmup: Double = 2

    @Option(help: "Repeat the whole grid this many times, interleaved; figures are pooled over rounds, so one lucky cell on a noisy machine does not win the recommendation.")
    var rounds: Int = 2

    @Option(help: "Messages, one per line (default Benchmarks/corpus/chat.txt, made by scripts/make_chat_corpus.py).")
    var corpus: String?

    @Option(help: "Latency target for the recommendation: p99 per call in ms.")
    var p99Ms: Double = 50

    @Option(help: "Result-cache entries during the run (0: off, every message is computed).")
    var cacheSize: Int = 0

    @Option(help: "Write the table as CSV to this file.")
    var csv: String?

    @Option(help: "Write a PNG chart (throughput and p99 against batch size) with scripts/tune_chart.py.")
    var png: String?

    @Option(help: "Random seed for message draws.")
    var seed: UInt64 = 1

    @Flag(help: .hidden) var child = false

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard seconds > 0, warmup >= 0 else { throw ValidationError("--seconds must be > 0 and --warmup >= 0") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        _ = try parseInts(batchSizes, "--batch-sizes")
        _ = try parseDoubles(delays, "--delays")
        _ = try parseCombos(threads)
        if let layouts { _ = try parseLayouts(layouts) }
        if let precisions { _ = try parsePrecisions(precisions) }
    }

    func run() async throws {
        bootstrapLogging(level: .warning)
        let sizes = try parseInts(batchSizes, "--batch-sizes")
        let delayList = try parseDoubles(delays, "--delays")
        let combos = try parseCombos(threads)
        let messages = try loadCorpus()
        let layoutList = try resolvedLayouts()
        let precisionList = try resolvedPrecisions()

        if child {
            // One combination in this process; results as CSV lines on stdout.
            let combo = combos[0]
            let results = try await runGrid(combo: combo, sizes: sizes, delays: delayList, layouts: layoutList, precisions: precisionList,
                                            messages: messages)
            for result in results { print("CELL," + result.csvLine) }
            fflush(nil)
            return
        }

        let load = loadAverage()
        print("warden tune: \(messages.count) messages, \(concurrency) callers, \(warmup)s warm-up + \(seconds)s per cell, cache \(cacheSize), load average \(load)")
        print("grid: layouts \(layoutList.map(\.description)), precisions \(precisionList.map(\.rawValue)), batch sizes \(sizes), delays ms \(delayList), threads (workers x torch x blas) \(combos.map(\.description)), rounds \(rounds)")
        let core = TorchRuntime.blasCore
        print("BLAS: OpenBLAS core \(core.coreLabel) (\(core.plan)); fp32 check \(core.check)")
        var results: [TuneResult] = []
        if combos.count == 1 {
            print(TuneResult.tableHeader)
            results = try await runGrid(combo: combos[0], sizes: sizes, delays: delayList, layouts: layoutList, precisions: precisionList,
                                        messages: messages) {
                print($0.tableLine); fflush(nil)
            }
        } else {
            print(TuneResult.tableHeader)
            for combo in combos {
                results += try runChild(combo: combo, layouts: layoutList, precisions: precisionList)
            }
        }
        print("")
        print(TuneResult.tableHeader)
        for result in results { print(result.tableLine) }
        print("load average after: \(loadAverage())")

        let meeting = results.filter { $0.p99Ms <= p99Ms && $0.errors == 0 }
        if let best = meeting.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }) {
            print("\nrecommended (p99 \(String(format: "%.1f", best.p99Ms)) ms <= \(p99Ms) ms, \(String(format: "%.0f", best.messagesPerSecond)) messages/s):")
            print("  warden serve \(best.serveFlags)")
        } else {
            print("\nno cell met p99 <= \(p99Ms) ms; lowest p99: \(results.min(by: { $0.p99Ms < $1.p99Ms }).map { "\($0.serveFlags) (\(String(format: "%.1f", $0.p99Ms)) ms)" } ?? "none")")
        }
        if let one = results.filter({ $0.maxBatchSize == 1 }).max(by: { $0.messagesPerSecond < $1.messagesPerSecond }),
           let best = results.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }), best.maxBatchSize > 1 {
            print(String(format: "batching gain: best %.0f msg/s (%@, batch %d) / best unbatched %.0f msg/s = %.2fx",
                         best.messagesPerSecond, best.layout.description, best.maxBatchSize, one.messagesPerSecond,
                         best.messagesPerSecond / one.messagesPerSecond))
        }
        let byLayout = Dictionary(grouping: results, by: \.layout)
        if byLayout.count > 1, let padded = byLayout[.padded]?.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }) {
            for (layout, cells) in byLayout where layout != .padded {
                if let best = cells.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }) {
                    print(String(format: "%@ vs padded: best %.0f / %.0f msg/s = %.2fx", layout.description,
                                 best.messagesPerSecond, padded.messagesPerSecond, best.messagesPerSecond / padded.messagesPerSecond))
                }
            }
        }

        let byPrecision = Dictionary(grouping: results, by: \.precision)
        if byPrecision.count > 1 {
            let best = byPrecision.mapValues { $0.map(\.messagesPerSecond).max() ?? 0 }.sorted { $0.value > $1.value }
            print("precision: " + best.map { "\($0.key) best \(String(format: "%.0f", $0.value)) msg/s" }.joined(separator: ", "))
        }

        if let csv {
            let text = TuneResult.csvHeader + "\n" + results.map(\.csvLine).joined(separator: "\n") + "\n"
            try text.write(toFile: csv, atomically: true, encoding: .utf8)
            print("wrote \(csv)")
            if let png { drawChart(csv: csv, png: png) }
        } else if let png {
            let temporary = NSTemporaryDirectory() + "warden-tune-\(getpid()).csv"
            let text = TuneResult.csvHeader + "\n" + results.map(\.csvLine).joined(separator: "\n") + "\n"
            try text.write(toFile: temporary, atomically: true, encoding: .utf8)
            drawChart(csv: temporary, png: png)
        }
    }

    /// Applies `combo`'s threads (once per process), loads the model in each precision and measures the grid.
    private func runGrid(combo: ThreadCombo, sizes: [Int], delays: [Double], layouts: [TuneLayout], precisions: [PrecisionPolicy],
                         messages: [String], progress: (TuneResult) -> Void = { _ in }) async throws -> [TuneResult] {
        let bundle = try ModelBundle.load(directory: model.resolvedModelDirectory())
        let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        let runtime = TorchRuntimeSettings(intraOpThreads: combo.torch, interOpThreads: 1, blasThreads: combo.blas)
        let factories = precisions.map { TorchBackendFactory(runtime: runtime, precision: $0) }
        return try await TuneRunner.runGrid(bundle: bundle, tokenizer: tokenizer, variants: factories, combo: combo, sizes: sizes,
                                            delays: delays, layouts: layouts, spec: spec(), messages: messages, rounds: rounds,
                                            progress: progress)
    }

    private func spec() -> TuneRunner.Spec {
        TuneRunner.Spec(concurrency: concurrency, seconds: seconds, warmup: warmup, cacheSize: cacheSize,
                        maxBatchTokens: maxBatchTokens, seed: seed, minPaddingEfficiency: minPaddingEfficiency)
    }

    /// Runs one thread combination in a child process of the same binary and parses its CELL lines.
    private func runChild(combo: ThreadCombo, layouts: [TuneLayout], precisions: [PrecisionPolicy]) throws -> [TuneResult] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        var arguments = ["tune", "--child", "--threads", combo.description, "--batch-sizes", batchSizes, "--delays", delays,
                         "--layouts", layouts.map(\.description).joined(separator: ","),
                         "--precisions", precisions.map(\.rawValue).joined(separator: ","),
                         "--concurrency", "\(concurrency)", "--seconds", "\(seconds)", "--warmup", "\(warmup)",
                         "--rounds", "\(rounds)", "--cache-size", "\(cacheSize)", "--max-batch-tokens", "\(maxBatchTokens)",
                         "--seed", "\(seed)", "--model", model.resolvedModelDirectory()]
        if let minPaddingEfficiency { arguments += ["--min-padding-efficiency", "\(minPaddingEfficiency)"] }
        if let corpus { arguments += ["--corpus", corpus] }
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var results: [TuneResult] = []
        var buffer = Data()
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if line.hasPrefix("CELL,"), let result = TuneResult(csvLine: String(line.dropFirst(5))) {
                    results.append(result)
                    print(result.tableLine)
                    fflush(nil)
                }
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("tune child for threads \(combo) exited with status \(process.terminationStatus)")
        }
        return results
    }

    private func drawChart(csv: String, png: String) {
        guard let script = ResourceLocator.find("scripts/tune_chart.py") else {
            print("chart: scripts/tune_chart.py not found; skipped")
            return
        }
        let process = Process()
        // Debian's python3-matplotlib lives with the system interpreter, not with pyenv's.
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, csv, png]
        do {
            try process.run()
            process.waitUntilExit()
            print(process.terminationStatus == 0 ? "wrote \(png)" : "chart: \(script) failed (is python3-matplotlib installed?)")
        } catch {
            print("chart: cannot run python3: \(error)")
        }
    }

    private func loadCorpus() throws -> [String] {
        let path = corpus ?? ResourceLocator.path("Benchmarks/corpus/chat.txt")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the corpus \(path) (make one with scripts/make_chat_corpus.py --n 2000 --out FILE)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw ValidationError("the corpus \(path) has no messages") }
        return lines
    }
}

private func parseInts(_ text: String, _ flag: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
        throw ValidationError("\(flag) needs comma-separated positive integers (got '\(text)')")
    }
    return values
}

/// The layouts to measure: `--layouts`, or padded plus packed128 when the model declares a packed entry point.
extension TuneCommand {
    func resolvedLayouts() throws -> [TuneLayout] {
        if let layouts { return try parseLayouts(layouts) }
        let bundle = try ModelBundle.load(directory: model.resolvedModelDirectory())
        return bundle.packedEntryPoint == nil ? [.padded] : [.padded, .packed(rowTokens: EngineConfiguration().batching.packedRowTokens)]
    }
}

/// The precisions to measure: `--precisions`; else `--precision` when it names one; else every candidate of
/// `auto` for the model.
extension TuneCommand {
    func resolvedPrecisions() throws -> [PrecisionPolicy] {
        if let precisions { return try parsePrecisions(precisions) }
        let asked = try model.resolvedPrecision()
        guard asked == .auto else { return [asked] }
        let bundle = try ModelBundle.load(directory: model.resolvedModelDirectory())
        let candidates = try PrecisionPlanner.candidates(policy: .auto, storedPrecision: bundle.precision,
                                                         fp32Verified: TorchRuntime.blasCore.fp32Verified)
        let named = candidates.compactMap { PrecisionPolicy(rawValue: $0.name) }.filter { $0 == .bf16 || $0 == .fp32 }
        return named.isEmpty ? [.asStored] : named
    }
}

private func parsePrecisions(_ text: String) throws -> [PrecisionPolicy] {
    let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    // as-stored is what a model stored in another precision (int8) is tuned in.
    let precisions = items.compactMap { item in PrecisionPolicy(rawValue: item).flatMap { $0 == .auto ? nil : $0 } }
    guard !items.isEmpty, precisions.count == items.count else {
        throw ValidationError("--precisions takes 'bf16' and/or 'fp32', comma-separated (got \"\(text)\")")
    }
    return precisions
}

private func parseLayouts(_ text: String) throws -> [TuneLayout] {
    let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let layouts = items.compactMap(TuneLayout.init)
    guard !items.isEmpty, layouts.count == items.count else {
        throw ValidationError("--layouts takes 'padded' and 'packedN' items (N >= 2), comma-separated (got \"\(text)\")")
    }
    return layouts
}

private func parseDoubles(_ text: String, _ flag: String) throws -> [Double] {
    let values = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 0 }) else {
        throw ValidationError("\(flag) needs comma-separated non-negative numbers (got '\(text)')")
    }
    return values
}

private func parseCombos(_ text: String) throws -> [ThreadCombo] {
    try text.split(separator: ",").map { item in
        let parts = item.split(separator: "x").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--threads needs WORKERSxTORCHxBLAS items such as 1x1x2 (got '\(item)')")
        }
        return ThreadCombo(workers: parts[0], torch: parts[1], blas: parts[2])
    }
}

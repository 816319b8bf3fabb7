import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore
import WordPiece

/// `warden tune`: measures the engine in-process (no HTTP) over a grid of batching and thread settings
/// with a closed loop of concurrent single-message callers, and recommends `warden serve` flags.
///
/// Thread settings (`TorchRuntime.apply`) are process-wide and applied once, so each workers × threads
/// combination runs in a child process (the same binary, `tune --child`) unless there is only one.
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Measure throughput and latency over batch size x queue delay x threads; recommend serve flags.",
        discussion: """
            Each cell runs --concurrency callers, each sending one random corpus message at a time to the \
            engine (tokenizer + batcher + model, no HTTP) for --warmup then --seconds. The result cache is \
            off by default (--cache-size) so repeats are computed. The recommendation is the cell with the \
            highest throughput whose p99 latency is within --p99-ms.
            Example (the issue-5 batching figure): warden tune --batch-sizes 1,32 --delays 2 --threads 1x1x2 \
            --concurrency 64 --corpus ../shared/peers/messages.txt
            """)

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(help: "Comma-separated maxBatchSize values.")
    var batchSizes: String = "1,4,8,16,32"

    @Option(help: "Comma-separated maxQueueDelay values in ms (interactive lane).")
    var delays: String = "0,2,5"

    @Option(help: "Comma-separated WORKERSxTORCHxBLAS thread combinations, e.g. 1x1x2,1x2x1,2x1x1.")
    var threads: String = "1x1x2,1x2x1,2x1x1"

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
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let sizes = try parseInts(batchSizes, "--batch-sizes")
        let delayList = try parseDoubles(delays, "--delays")
        let combos = try parseCombos(threads)
        let messages = try loadCorpus()

        if child {
            // One combination in this process; results as CSV lines on stdout.
            let combo = combos[0]
            let results = try await TuneRunner.runGrid(modelDirectory: model.resolvedModelDirectory(), combo: combo,
                                                       sizes: sizes, delays: delayList, spec: spec(), messages: messages, rounds: rounds)
            for result in results { print("CELL," + result.csvLine) }
            fflush(nil)
            return
        }

        let load = loadAverage()
        print("warden tune: \(messages.count) messages, \(concurrency) callers, \(warmup)s warm-up + \(seconds)s per cell, cache \(cacheSize), load average \(load)")
        print("grid: batch sizes \(sizes), delays ms \(delayList), threads (workers x torch x blas) \(combos.map(\.description)), rounds \(rounds)")
        var results: [TuneResult] = []
        if combos.count == 1 {
            print(TuneResult.tableHeader)
            results = try await TuneRunner.runGrid(modelDirectory: model.resolvedModelDirectory(), combo: combos[0],
                                                   sizes: sizes, delays: delayList, spec: spec(), messages: messages, rounds: rounds) { print($0.tableLine); fflush(nil) }
        } else {
            print(TuneResult.tableHeader)
            for combo in combos {
                results += try runChild(combo: combo)
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
        let bySize = Dictionary(grouping: results, by: \.maxBatchSize)
        if let one = bySize[1]?.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }),
           let best = results.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }), best.maxBatchSize > 1 {
            print(String(format: "batching gain: best %.0f msg/s (batch %d) / best unbatched %.0f msg/s = %.2fx",
                         best.messagesPerSecond, best.maxBatchSize, one.messagesPerSecond, best.messagesPerSecond / one.messagesPerSecond))
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

    private func spec() -> TuneRunner.Spec {
        TuneRunner.Spec(concurrency: concurrency, seconds: seconds, warmup: warmup, cacheSize: cacheSize,
                        maxBatchTokens: maxBatchTokens, seed: seed, minPaddingEfficiency: minPaddingEfficiency)
    }

    /// Runs one thread combination in a child process of the same binary and parses its CELL lines.
    private func runChild(combo: ThreadCombo) throws -> [TuneResult] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        var arguments = ["tune", "--child", "--threads", combo.description, "--batch-sizes", batchSizes, "--delays", delays,
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
            throw CleanExit.failure("tune child for threads \(combo) exited with status \(process.terminationStatus)")
        }
        return results
    }

    private func drawChart(csv: String, png: String) {
        let candidates = [FileManager.default.currentDirectoryPath + "/scripts/tune_chart.py",
                          URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
                              .deletingLastPathComponent().appendingPathComponent("../../scripts/tune_chart.py").standardized.path]
        guard let script = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
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
        let path = corpus ?? defaultCorpusPath()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the corpus \(path) (make one with scripts/make_chat_corpus.py --n 2000 --out FILE)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw ValidationError("the corpus \(path) has no messages") }
        return lines
    }

    private func defaultCorpusPath() -> String {
        let relative = "Benchmarks/corpus/chat.txt"
        let here = FileManager.default.currentDirectoryPath + "/" + relative
        if FileManager.default.fileExists(atPath: here) { return here }
        var folder = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = folder.appendingPathComponent(relative).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return here
    }
}

/// Workers × torch intra-op threads × OpenBLAS threads.
struct ThreadCombo: Sendable, CustomStringConvertible {
    var workers: Int
    var torch: Int
    var blas: Int
    var description: String { "\(workers)x\(torch)x\(blas)" }
}

private func parseInts(_ text: String, _ flag: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
        throw ValidationError("\(flag) needs comma-separated positive integers (got '\(text)')")
    }
    return values
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

func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// One cell's figures.
struct TuneResult: Sendable {
    var maxBatchSize: Int
    var delayMs: Double
    var combo: ThreadCombo
    var messages: Int
    var messagesPerSecond: Double
    var p50Ms: Double
    var p99Ms: Double
    var paddingEfficiency: Double
    var meanBatch: Double
    var errors: Int
    var load1: Double

    var serveFlags: String {
        "--max-batch-size \(maxBatchSize) --max-queue-delay-ms \(TuneResult.format(delayMs)) --workers \(combo.workers) --torch-threads \(combo.torch) --blas-threads \(combo.blas)"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    static let tableHeader = "threads  batch  delay_ms   msg/s   p50_ms   p99_ms  pad_eff  mean_batch  errors  load1"
    var tableLine: String {
        String(format: "%-7@  %5d  %8@  %6.0f  %7.1f  %7.1f  %6.1f%%  %10.1f  %6d  %5.2f",
               combo.description as NSString, maxBatchSize, TuneResult.format(delayMs) as NSString, messagesPerSecond,
               p50Ms, p99Ms, paddingEfficiency * 100, meanBatch, errors, load1)
    }

    static let csvHeader = "workers,torch_threads,blas_threads,max_batch_size,max_queue_delay_ms,messages,messages_per_s,p50_ms,p99_ms,padding_efficiency,mean_batch,errors,load1"
    var csvLine: String {
        [String(combo.workers), String(combo.torch), String(combo.blas), String(maxBatchSize), TuneResult.format(delayMs),
         String(messages), String(format: "%.1f", messagesPerSecond), String(format: "%.2f", p50Ms), String(format: "%.2f", p99Ms),
         String(format: "%.4f", paddingEfficiency), String(format: "%.2f", meanBatch), String(errors), String(format: "%.2f", load1)]
            .joined(separator: ",")
    }

    init(maxBatchSize: Int, delayMs: Double, combo: ThreadCombo, messages: Int, messagesPerSecond: Double, p50Ms: Double,
         p99Ms: Double, paddingEfficiency: Double, meanBatch: Double, errors: Int, load1: Double) {
        self.maxBatchSize = maxBatchSize; self.delayMs = delayMs; self.combo = combo; self.messages = messages
        self.messagesPerSecond = messagesPerSecond; self.p50Ms = p50Ms; self.p99Ms = p99Ms
        self.paddingEfficiency = paddingEfficiency; self.meanBatch = meanBatch; self.errors = errors; self.load1 = load1
    }

    init?(csvLine: String) {
        let f = csvLine.split(separator: ",").map(String.init)
        guard f.count == 13, let w = Int(f[0]), let t = Int(f[1]), let b = Int(f[2]), let size = Int(f[3]), let delay = Double(f[4]),
              let messages = Int(f[5]), let rate = Double(f[6]), let p50 = Double(f[7]), let p99 = Double(f[8]),
              let pad = Double(f[9]), let mean = Double(f[10]), let errors = Int(f[11]), let load = Double(f[12]) else { return nil }
        self.init(maxBatchSize: size, delayMs: delay, combo: ThreadCombo(workers: w, torch: t, blas: b), messages: messages,
                  messagesPerSecond: rate, p50Ms: p50, p99Ms: p99, paddingEfficiency: pad, meanBatch: mean, errors: errors, load1: load)
    }
}

/// The reusable per-cell engine runner.
enum TuneRunner {
    struct Spec: Sendable {
        var concurrency: Int
        var seconds: Double
        var warmup: Double
        var cacheSize: Int
        var maxBatchTokens: Int
        var seed: UInt64
        var minPaddingEfficiency: Double?
    }

    /// Applies the thread settings (once per process), loads the model and runs every cell of the grid,
    /// `rounds` times interleaved (cell order a, b, c, a, b, c, …); figures are pooled per cell.
    static func runGrid(modelDirectory: String, combo: ThreadCombo, sizes: [Int], delays: [Double], spec: Spec,
                        messages: [String], rounds: Int, progress: (TuneResult) -> Void = { _ in }) async throws -> [TuneResult] {
        let bundle = try ModelBundle.load(directory: modelDirectory)
        let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        try TorchRuntime.apply(TorchRuntimeSettings(intraOpThreads: combo.torch, interOpThreads: 1, blasThreads: combo.blas))
        let backends = try await ModelOptions.loadBackends(bundle: bundle, workers: combo.workers)
        var pooled: [String: [CellSample]] = [:]
        var order: [(Int, Double)] = []
        for size in sizes { for delay in delays { order.append((size, delay)) } }
        for round in 0..<rounds {
            for (size, delay) in order {
                let sample = try await runCell(bundle: bundle, tokenizer: tokenizer, backends: backends, maxBatchSize: size,
                                               delayMs: delay, spec: spec, messages: messages, seed: spec.seed &+ UInt64(round))
                pooled["\(size)/\(delay)", default: []].append(sample)
                if rounds == 1 { progress(sample.result(size: size, delay: delay, combo: combo)) }
            }
        }
        return order.map { size, delay in
            let merged = CellSample.merge(pooled["\(size)/\(delay)"]!)
            let result = merged.result(size: size, delay: delay, combo: combo)
            if rounds > 1 { progress(result) }
            return result
        }
    }

    /// Raw figures of one cell run.
    struct CellSample: Sendable {
        var latencies: [Double]  // ms
        var elapsed: Double       // s
        var errors: Int
        var realTokens: Int
        var paddedTokens: Int
        var batches: Int
        var items: Int
        var load1: Double

        static func merge(_ samples: [CellSample]) -> CellSample {
            var merged = CellSample(latencies: [], elapsed: 0, errors: 0, realTokens: 0, paddedTokens: 0, batches: 0, items: 0, load1: 0)
            for s in samples {
                merged.latencies += s.latencies; merged.elapsed += s.elapsed; merged.errors += s.errors
                merged.realTokens += s.realTokens; merged.paddedTokens += s.paddedTokens
                merged.batches += s.batches; merged.items += s.items; merged.load1 = max(merged.load1, s.load1)
            }
            return merged
        }

        func result(size: Int, delay: Double, combo: ThreadCombo) -> TuneResult {
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
            }
            return TuneResult(maxBatchSize: size, delayMs: delay, combo: combo, messages: latencies.count,
                              messagesPerSecond: Double(latencies.count) / elapsed, p50Ms: percentile(0.50), p99Ms: percentile(0.99),
                              paddingEfficiency: paddedTokens == 0 ? 1 : Double(realTokens) / Double(paddedTokens),
                              meanBatch: batches == 0 ? 0 : Double(items) / Double(batches), errors: errors, load1: load1)
        }
    }

    /// One closed-loop run: `spec.concurrency` callers each moderate one random message at a time.
    /// Calls that start during the warm-up or end after the measured window are not counted.
    static func runCell(bundle: ModelBundle, tokenizer: WordPieceTokenizer, backends: [any InferenceBackend], maxBatchSize: Int,
                        delayMs: Double, spec: Spec, messages: [String], seed: UInt64) async throws -> CellSample {
        var configuration = BatchingConfiguration()
        configuration.maxBatchSize = maxBatchSize
        configuration.maxBatchTokens = max(spec.maxBatchTokens, bundle.maxSequenceLength)
        configuration.interactive.maxQueueDelay = .microseconds(Int(delayMs * 1000))
        configuration.cacheCapacity = spec.cacheSize
        if let floor = spec.minPaddingEfficiency { configuration.minPaddingEfficiency = floor }
        configuration.workers = backends.count
        let batcher = try Batcher(backends: backends, configuration: configuration, maxSequenceLength: bundle.maxSequenceLength,
                                  padID: tokenizer.padID, logger: Logger(label: "warden.tune"))
        let moderator = try Moderator(tokenizer: tokenizer, bundle: bundle, batcher: batcher, configuration: configuration)
        let clock = ContinuousClock()
        let start = clock.now
        let measureStart = start + .milliseconds(Int(spec.warmup * 1000))
        let measureEnd = measureStart + .milliseconds(Int(spec.seconds * 1000))

        let batcherTask = Task { try await batcher.run() }
        // Snapshot the queue statistics when the measured window opens.
        let snapshotTask = Task { () -> BatchQueue.Statistics in
            try? await Task.sleep(until: measureStart, clock: clock)
            return batcher.statistics
        }
        let (latencies, errors) = await withTaskGroup(of: ([Double], Int).self) { group in
            for caller in 0..<spec.concurrency {
                group.addTask {
                    var rng = SplitMix64(seed: seed &* 0x9E37_79B9 &+ UInt64(caller) &+ 1)
                    var latencies: [Double] = []
                    latencies.reserveCapacity(4096)
                    var errors = 0
                    while true {
                        let began = clock.now
                        if began >= measureEnd { break }
                        let text = messages[Int(rng.next() % UInt64(messages.count))]
                        do {
                            _ = try await moderator.moderate([text])
                            let ended = clock.now
                            if began >= measureStart && ended <= measureEnd {
                                let d = began.duration(to: ended)
                                latencies.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
                            }
                        } catch {
                            if began >= measureStart {
                                if errors == 0 { FileHandle.standardError.write(Data("tune: call failed: \(error)\n".utf8)) }
                                errors += 1
                            }
                        }
                    }
                    return (latencies, errors)
                }
            }
            var all: [Double] = []
            var errors = 0
            for await (part, e) in group { all += part; errors += e }
            return (all, errors)
        }
        let before = await snapshotTask.value
        let after = batcher.statistics
        batcherTask.cancel()
        _ = try? await batcherTask.value
        return CellSample(latencies: latencies, elapsed: spec.seconds, errors: errors,
                          realTokens: after.realTokens - before.realTokens, paddedTokens: after.paddedTokens - before.paddedTokens,
                          batches: after.batches - before.batches, items: after.items - before.items,
                          load1: Double(loadAverage().split(separator: " ").first ?? "0") ?? 0)
    }
}

/// A small seeded generator (SplitMix64), so runs draw the same message sequence.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

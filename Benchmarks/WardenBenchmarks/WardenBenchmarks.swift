// Warden's package-benchmark suite. Run: WARDEN_BENCHMARKS=1 swift package benchmark
// (thresholds per CPU kind: Benchmarks/thresholds/<cpu key>/, `make bench-check`; see docs/PERFORMANCE.md).
import Benchmark
import Foundation
import Logging
import ServiceLifecycle
import TorchBackend
import WardenCore
import WordPiece

/// Repository root, from this file's location (Benchmarks/WardenBenchmarks/WardenBenchmarks.swift).
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The default bundle and its tokenizer, loaded once (lazily, outside every measurement); a failure is
/// reported by each benchmark that needs them.
private let defaultModel = Result { () throws -> (ModelBundle, WordPieceTokenizer) in
    let bundle = try ModelBundle.load(directory: repositoryRoot + "/models/minilm-moderation")
    return (bundle, try WordPieceTokenizer(directory: bundle.tokenizerDirectory))
}
private var bundle: ModelBundle { get throws { try defaultModel.get().0 } }
private var tokenizer: WordPieceTokenizer { get throws { try defaultModel.get().1 } }
private let corpus: [String] = {
    let text = (try? String(contentsOfFile: repositoryRoot + "/Benchmarks/corpus/chat.txt", encoding: .utf8)) ?? "hello there"
    return text.split(whereSeparator: \.isNewline).map(String.init)
}()
/// The TorchScript model itself, with the default threads, for the forward grid.
private let model = Result { () throws -> TorchModel in
    try TorchRuntime.apply(.default)
    return try TorchModel(path: try bundle.modelPath)
}

/// Runs `body` with the moderator of a ``ModerationEngine`` over a zero-cost backend (no batching delay,
/// no cache), assembled and shut down as every Warden mode does it.
private func withZeroCostEngine(_ body: (Moderator) async throws -> Void) async throws {
    var configuration = EngineConfiguration()
    configuration.workers = 1
    configuration.warmUpTexts = []
    configuration.batching.interactive.maxQueueDelay = .zero
    configuration.moderator.cacheCapacity = 0
    let engine = try ModerationEngine(
        bundle: try bundle, tokenizer: try tokenizer, configuration: configuration,
        backends: BackendLoader.existing([ZeroBackend()]))
    let services = ServiceGroup(configuration: .init(services: [engine], logger: Logger(label: "warden.benchmarks")))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        try await body(try await engine.ready())
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

/// A backend that costs nothing: returns zeros at once (measures the queue and façade alone).
private struct ZeroBackend: InferenceBackend {
    let labelCount = 3
    func score(_ batch: TokenBatch) async throws -> [Float] { [Float](repeating: 0, count: batch.count * labelCount) }
}

/// Token ids of exactly `length` positions ([CLS] … [SEP]) drawn from corpus text.
private func inputs(batch: Int, length: Int) throws -> (ids: [Int64], mask: [Int64]) {
    let tokenizer = try tokenizer
    var ids: [Int64] = []
    ids.reserveCapacity(batch * length)
    var pieces = corpus.prefix(400).flatMap { tokenizer.wordPieceIDs($0) }
    if pieces.isEmpty { pieces = [Int32(tokenizer.unkID)] }
    var cursor = 0
    for _ in 0..<batch {
        ids.append(Int64(tokenizer.clsID))
        for _ in 0..<(length - 2) {
            ids.append(Int64(pieces[cursor % pieces.count]))
            cursor += 1
        }
        ids.append(Int64(tokenizer.sepID))
    }
    return (ids, [Int64](repeating: 1, count: batch * length))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(1),
        maxIterations: 50)

    // Tokenizer: 1,000 corpus messages per iteration (throughput is in thousands of messages/s).
    Benchmark("tokenizer encode chat message", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let texts = corpus
        let tokenizer = try tokenizer
        for i in benchmark.scaledIterations {
            blackHole(tokenizer.encode(texts[i % texts.count], maxLength: 128))
        }
    }

    // Text normalisation before tokenizing: 1,000 corpus messages per iteration, platform-v1 vs platform-v2.
    for mode in [TextNormalization.platformV1, .platformV2] {
        Benchmark("normalize \(mode.rawValue) chat message", configuration: .init(scalingFactor: .kilo)) { benchmark in
            let texts = corpus
            for i in benchmark.scaledIterations {
                blackHole(normalizeText(texts[i % texts.count], mode))
            }
        }
    }

    // Model forward: batch 1…128 × length 16…128, bf16 default model, default threads.
    for batch in [1, 2, 4, 8, 16, 32, 64, 128] {
        for length in [16, 32, 64, 128] {
            Benchmark(
                "forward b\(batch) L\(length)",
                configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .milliseconds(600), maxIterations: 20)
            ) { benchmark in
                let (ids, mask) = try inputs(batch: batch, length: length)
                let model = try model.get()  // loaded before measuring
                benchmark.startMeasurement()
                blackHole(try model.forward(inputIDs: ids, attentionMask: mask, batch: batch, length: length))
                benchmark.stopMeasurement()
            }
        }
    }

    // Engine overhead: 1,000 single-item requests from 64 concurrent callers through a real Batcher with a
    // zero-cost backend (requests/s the queue itself sustains; throughput is in thousands of requests/s).
    Benchmark("engine overhead zero backend 64 callers", configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo)) { benchmark in
        let tokenizer = try tokenizer
        let sequences: [[Int32]] = corpus.prefix(256).map { tokenizer.encode($0, maxLength: 128).ids }
        let total = benchmark.scaledIterations.count
        try await withZeroCostEngine { moderator in
            let batcher = moderator.batcher
            benchmark.startMeasurement()
            await withTaskGroup(of: Void.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        var i = caller
                        while i < total {
                            _ = try? await batcher.score([sequences[i % sequences.count]], lane: .interactive)
                            i += 64
                        }
                    }
                }
            }
            benchmark.stopMeasurement()
        }
    }

    // Mallocs per request on the hot path: one Moderator.moderate call (normalise, tokenize, queue, merge)
    // with a zero-cost backend and the cache off.
    Benchmark("mallocs per moderate request", configuration: .init(metrics: [.mallocCountTotal, .wallClock], maxIterations: 200)) { benchmark in
        let text = corpus[7 % corpus.count]
        try await withZeroCostEngine { moderator in
            _ = try await moderator.moderate([text])  // first call outside the measurement
            benchmark.startMeasurement()
            blackHole(try await moderator.moderate([text]))
            benchmark.stopMeasurement()
        }
    }
}

import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WardenCore
import WordPiece

/// Measures the engine over a grid of batch sizes and queue delays with a closed loop of concurrent
/// single-message callers (no HTTP): what `warden tune` runs in each thread setting.
public enum TuneRunner {
    /// How each cell is driven.
    public struct Spec: Sendable {
        /// Concurrent callers, each sending one message at a time.
        public var concurrency: Int
        /// Measured seconds per cell.
        public var seconds: Double
        /// Warm-up seconds per cell (calls starting in it are not counted).
        public var warmup: Double
        /// Result-cache entries (0: every message is computed).
        public var cacheSize: Int
        /// Most padded tokens per model call.
        public var maxBatchTokens: Int
        /// Seed of the message draws.
        public var seed: UInt64
        /// Padding floor; nil keeps the engine's default.
        public var minPaddingEfficiency: Double?

        public init(
            concurrency: Int, seconds: Double, warmup: Double, cacheSize: Int, maxBatchTokens: Int, seed: UInt64,
            minPaddingEfficiency: Double? = nil
        ) {
            self.concurrency = concurrency
            self.seconds = seconds
            self.warmup = warmup
            self.cacheSize = cacheSize
            self.maxBatchTokens = maxBatchTokens
            self.seed = seed
            self.minPaddingEfficiency = minPaddingEfficiency
        }
    }

    /// Loads `combo.workers` backends once through `backends` and runs every cell of the grid (sizes ×
    /// delays × layouts; packed layouts need a model with a packed entry point), `rounds`
    /// times interleaved (cell order a, b, c, a, b, c, …); figures are pooled per cell, so one lucky cell on a
    /// noisy machine does not decide. `progress` sees each cell's result as it is known.
    public static func runGrid(
        bundle: ModelBundle, tokenizer: WordPieceTokenizer, backends factory: any InferenceBackendFactory,
        combo: ThreadCombo, sizes: [Int], delays: [Double], layouts: [TuneLayout] = [.padded], spec: Spec,
        messages: [String], rounds: Int,
        progress: (TuneResult) -> Void = { _ in }
    ) async throws -> [TuneResult] {
        try await runGrid(
            bundle: bundle, tokenizer: tokenizer, variants: [factory], combo: combo, sizes: sizes, delays: delays,
            layouts: layouts, spec: spec, messages: messages, rounds: rounds, progress: progress)
    }

    /// As ``runGrid(bundle:tokenizer:backends:combo:sizes:delays:layouts:spec:messages:rounds:progress:)`` over
    /// several sets of backends (one per precision, say): each factory loads its backends once, and every cell
    /// runs on each set, interleaved too. A result's precision is what its backends report.
    public static func runGrid(
        bundle: ModelBundle, tokenizer: WordPieceTokenizer, variants factories: [any InferenceBackendFactory],
        combo: ThreadCombo, sizes: [Int], delays: [Double], layouts: [TuneLayout] = [.padded], spec: Spec,
        messages: [String], rounds: Int,
        progress: (TuneResult) -> Void = { _ in }
    ) async throws -> [TuneResult] {
        var variants: [(precision: String, backends: [any InferenceBackend], packingCost: PackingCostModel?)] = []
        let packedCapacities = layouts.compactMap { layout -> Int? in if case .packed(let rowTokens) = layout { rowTokens } else { nil } }
        for factory in factories {
            let backends = try await factory.makeBackends(for: bundle, count: combo.workers)
            if !packedCapacities.isEmpty && !backends.allSatisfy(\.supportsPacking) {
                throw ConfigurationError(
                    field: "layouts",
                    problem: "the model \(bundle.name) declares no packed entry point (packed_entry_point); tune it with padded layouts only")
            }
            // Packed cells pack at fitted row widths, as `warden serve` does: the cost model is fitted once per
            // precision here (over the widest packed layout's widths) instead of at each cell's warm-up.
            var packingCost: PackingCostModel?
            if let widest = packedCapacities.max(), let backend = backends.first {
                var batching = BatchingConfiguration()
                batching.packedRowTokens = widest
                batching.maxBatchTokens = max(batching.maxBatchTokens, widest)
                let ids = tokenizer.encode(EngineConfiguration.defaultWarmUpTexts.last ?? "", maxLength: bundle.maxSequenceLength).ids
                packingCost = PackingCostModel.fit(try await PackingCostModel.measure(on: backend, batching: batching, tokenIDs: ids, padID: tokenizer.padID))
            }
            variants.append((backends.first?.runtimeInfo.precision ?? bundle.precision, backends, packingCost))
        }
        var pooled: [String: [CellSample]] = [:]
        var order: [(Int, Double, TuneLayout, Int)] = []
        for layout in layouts {
            for size in sizes { for delay in delays { for variant in variants.indices { order.append((size, delay, layout, variant)) } } }
        }
        for round in 0..<rounds {
            for (size, delay, layout, variant) in order {
                let sample = try await runCell(
                    bundle: bundle, tokenizer: tokenizer, backends: variants[variant].backends, maxBatchSize: size,
                    delayMs: delay, layout: layout, packingCost: variants[variant].packingCost, spec: spec, messages: messages,
                    seed: spec.seed &+ UInt64(round))
                pooled["\(size)/\(delay)/\(layout)/\(variant)", default: []].append(sample)
                if rounds == 1 {
                    progress(sample.result(size: size, delay: delay, layout: layout, combo: combo, precision: variants[variant].precision))
                }
            }
        }
        return order.map { size, delay, layout, variant in
            let result = CellSample.merge(pooled["\(size)/\(delay)/\(layout)/\(variant)"]!)
                .result(size: size, delay: delay, layout: layout, combo: combo, precision: variants[variant].precision)
            if rounds > 1 { progress(result) }
            return result
        }
    }

    /// Raw figures of one cell run.
    struct CellSample: Sendable {
        var latencies: [Double]  // ms
        var elapsed: Double  // s
        var errors: Int
        var realTokens: Int
        var paddedTokens: Int
        var batches: Int
        var items: Int
        var load1: Double

        static func merge(_ samples: [CellSample]) -> CellSample {
            var merged = CellSample(latencies: [], elapsed: 0, errors: 0, realTokens: 0, paddedTokens: 0, batches: 0, items: 0, load1: 0)
            for s in samples {
                merged.latencies += s.latencies
                merged.elapsed += s.elapsed
                merged.errors += s.errors
                merged.realTokens += s.realTokens
                merged.paddedTokens += s.paddedTokens
                merged.batches += s.batches
                merged.items += s.items
                merged.load1 = max(merged.load1, s.load1)
            }
            return merged
        }

        func result(size: Int, delay: Double, layout: TuneLayout, combo: ThreadCombo, precision: String) -> TuneResult {
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
            }
            return TuneResult(
                maxBatchSize: size, delayMs: delay, layout: layout, combo: combo, precision: precision, messages: latencies.count,
                messagesPerSecond: Double(latencies.count) / elapsed, p50Ms: percentile(0.50), p99Ms: percentile(0.99),
                paddingEfficiency: paddedTokens == 0 ? 1 : Double(realTokens) / Double(paddedTokens),
                meanBatch: batches == 0 ? 0 : Double(items) / Double(batches), errors: errors, load1: load1)
        }
    }

    /// One closed-loop run on a fresh engine over `backends`: `spec.concurrency` callers each moderate one
    /// random message at a time. Calls that start during the warm-up or end after the measured window are
    /// not counted.
    static func runCell(
        bundle: ModelBundle, tokenizer: WordPieceTokenizer, backends: [any InferenceBackend], maxBatchSize: Int,
        delayMs: Double, layout: TuneLayout, packingCost: PackingCostModel? = nil, spec: Spec, messages: [String], seed: UInt64
    ) async throws -> CellSample {
        var configuration = EngineConfiguration()
        configuration.workers = backends.count
        configuration.warmUpTexts = []
        configuration.batching.maxBatchSize = maxBatchSize
        configuration.batching.maxBatchTokens = max(spec.maxBatchTokens, bundle.maxSequenceLength)
        configuration.batching.interactive.maxQueueDelay = Duration.milliseconds(exactly: delayMs) ?? .zero
        if let floor = spec.minPaddingEfficiency { configuration.batching.minPaddingEfficiency = floor }
        layout.apply(to: &configuration.batching)
        configuration.batching.packingCost = packingCost
        configuration.batching.maxBatchTokens = max(configuration.batching.maxBatchTokens, configuration.batching.packedRowTokens)
        configuration.moderator.cacheCapacity = spec.cacheSize
        let engine = try ModerationEngine(
            bundle: bundle, tokenizer: tokenizer, configuration: configuration,
            backends: BackendLoader.existing(backends), logger: Logger(label: "warden.tune"))

        return try await withThrowingTaskGroup(of: Void.self) { group in
            let service = ServiceGroup(configuration: .init(services: [engine], logger: Logger(label: "warden.tune")))
            group.addTask { try await service.run() }
            let moderator = try await engine.ready()
            let sample = await measure(moderator, spec: spec, messages: messages, seed: seed)
            await service.triggerGracefulShutdown()
            try await group.waitForAll()
            return sample
        }
    }

    /// The closed loop itself.
    /// Runs the closed loop of one cell. The measured window is `spec.seconds` long, extended (up to ten
    /// times that) until at least `spec.concurrency` calls were counted in it, so that a cell on a starved
    /// machine still reports figures instead of none; the figures use the window's real length.
    private static func measure(_ moderator: Moderator, spec: Spec, messages: [String], seed: UInt64) async -> CellSample {
        let clock = ContinuousClock()
        let start = clock.now
        let window = Duration.milliseconds(exactly: spec.seconds * 1000) ?? .zero
        let measureStart = start + (Duration.milliseconds(exactly: spec.warmup * 1000) ?? .zero)
        let measureEnd = measureStart + window
        let hardEnd = measureEnd + window * 9
        let minimumCalls = max(spec.concurrency, 1)
        let state = MeasuredWindow()
        let batcher = moderator.batcher
        async let snapshot: BatchQueue.Statistics = {
            try? await Task.sleep(until: measureStart, clock: clock)
            return batcher.statistics
        }()
        let (latencies, errors) = await withTaskGroup(of: ([Double], Int).self) { group in
            for caller in 0..<spec.concurrency {
                group.addTask {
                    var rng = SplitMix64(seed: seed &* 0x9E37_79B9 &+ UInt64(caller) &+ 1)
                    var latencies: [Double] = []
                    latencies.reserveCapacity(4096)
                    var errors = 0
                    while true {
                        let began = clock.now
                        if state.closedAfter.load(ordering: .relaxed) >= 0 || began >= hardEnd { break }
                        if began >= measureEnd && state.counted.load(ordering: .relaxed) >= minimumCalls {
                            let offset = measureStart.duration(to: began)
                            let nanoseconds = offset.components.seconds * 1_000_000_000 + offset.components.attoseconds / 1_000_000_000
                            _ = state.closedAfter.compareExchange(expected: -1, desired: nanoseconds, ordering: .relaxed)
                            break
                        }
                        let text = messages[Int(rng.next() % UInt64(messages.count))]
                        do {
                            _ = try await moderator.moderate([text])
                            if began >= measureStart && state.closedAfter.load(ordering: .relaxed) < 0 {
                                latencies.append(began.duration(to: clock.now).milliseconds)
                                state.counted.add(1, ordering: .relaxed)
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
            for await (part, e) in group {
                all += part
                errors += e
            }
            return (all, errors)
        }
        let closed = state.closedAfter.load(ordering: .relaxed)
        let elapsed = closed >= 0 ? Double(closed) / 1e9 : measureStart.duration(to: hardEnd).seconds
        let before = await snapshot
        let after = batcher.statistics
        return CellSample(
            latencies: latencies, elapsed: elapsed, errors: errors,
            realTokens: after.realTokens - before.realTokens, paddedTokens: after.paddedTokens - before.paddedTokens,
            batches: after.batches - before.batches, items: after.items - before.items,
            load1: Double(loadAverage().split(separator: " ").first ?? "0") ?? 0)
    }
}

/// The shared state of one cell's measured window.
private final class MeasuredWindow: Sendable {
    /// Calls counted in the window so far.
    let counted = Atomic<Int>(0)
    /// Nanoseconds after the window's start at which it closed; -1 while it is open.
    let closedAfter = Atomic<Int64>(-1)
}

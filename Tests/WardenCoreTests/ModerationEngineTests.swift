import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing
import WardenCore
import WardenTestSupport
import WordPiece

/// The engine's assembly and lifecycle, on the tiny-bert bundle's manifest and tokenizer with a
/// deterministic backend (no libtorch).
@Suite("ModerationEngine: assembled once, ready, drained", .timeLimit(.minutes(1)))
struct ModerationEngineTests {
    static let bundle = Result { try ModelBundle.load(directory: TestPaths.tinyBert.path) }
    static let tokenizer = Result { try WordPieceTokenizer(directory: try bundle.get().tokenizerDirectory) }

    static func engine(_ backends: [any InferenceBackend], configure: (inout EngineConfiguration) -> Void = { _ in }) throws -> ModerationEngine {
        var configuration = EngineConfiguration()
        configuration.workers = backends.count
        configure(&configuration)
        return try ModerationEngine(
            bundle: try bundle.get(), tokenizer: try tokenizer.get(), configuration: configuration,
            backends: BackendLoader.existing(backends), logger: Logger(label: "test"))
    }

    @Test("a configuration that cannot work is refused at construction, naming the field")
    func invalidConfiguration() throws {
        let error = #expect(throws: EngineError.self) {
            try Self.engine([LengthBackend(labelCount: 3)]) { $0.batching.maxBatchTokens = 64 }
        }
        #expect(error?.configurationError?.field == "maxBatchTokens")
        let windows = #expect(throws: EngineError.self) {
            try Self.engine([LengthBackend(labelCount: 3)]) { $0.moderator.longTextPolicy = .windows(overlap: 200) }
        }
        #expect(windows?.configurationError?.field == "longTextPolicy.overlap")
    }

    @Test("a tokenizer that prepares text otherwise than the manifest says is refused, naming the manifest field")
    func tokenizerMismatch() throws {
        var configuration = TokenizerConfiguration()
        configuration.lowercase = false
        let cased = try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"], configuration: configuration)
        let error = #expect(throws: EngineError.self) {
            try ModerationEngine(bundle: try Self.bundle.get(), tokenizer: cased, backends: BackendLoader.existing([LengthBackend(labelCount: 3)]))
        }
        #expect(error?.bundleError?.field == "tokenizer.lowercase")
        #expect(error?.description.contains("manifest.json") == true)
    }

    @Test("ready() waits through loading and warm-up; the phases follow; the moderator then scores")
    func readiness() async throws {
        let gate = Gate()
        let engine = try Self.engine([LengthBackend(labelCount: 3, gate: gate)])
        #expect(engine.phase == .loading)
        #expect(engine.moderator == nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await engine.run() }
            group.addTask { _ = try await engine.ready() }
            await gate.waitUntilEntered()  // the first warm-up text is at the backend
            #expect(engine.phase == .warmingUp)
            #expect(engine.moderator == nil)
            gate.open()
            let moderator = try await engine.ready()
            #expect(engine.phase == .ready)
            // Two warm-up passes: one for one-off costs, one that measures the throughput admission starts
            // from (each text alone on the interactive lane, then one full bulk batch, which may run as one or two).
            let texts = EngineConfiguration.defaultWarmUpTexts.count
            #expect((2 * texts + 2...4 * texts).contains(gate.entered), "\(gate.entered) batches")
            #expect(moderator.batcher.measuredTokensPerSecond(.interactive) != nil, "ready with an interactive estimate")
            #expect(moderator.batcher.measuredTokensPerSecond(.bulk) != nil, "ready with a bulk estimate")
            let response = try await moderator.moderate(["hello there"])
            #expect(response.results.count == 1)
            group.cancelAll()
        }
        #expect(engine.phase == .stopped)
        await #expect(throws: EngineError.self) { _ = try await engine.ready() }
    }

    /// A packing backend whose forwards take longer the more tokens and the wider the rows (1 ms + 20 µs per token
    /// + 0.3 µs per token per width, as sleeps).
    struct ShapeTimedBackend: InferenceBackend {
        let labelCount = 3
        var supportsPacking: Bool { true }
        static func work(rows: Int, width: Int) -> Duration {
            .microseconds(1000 + 20 * rows * width + (3 * rows * width * width) / 10)
        }
        func score(_ batch: TokenBatch) async throws -> [Float] {
            try await Task.sleep(for: Self.work(rows: batch.count, width: batch.length))
            return Array(repeating: 0.5, count: batch.count * labelCount)
        }
        func scorePacked(_ batch: PackedTokenBatch) async throws -> [Float] {
            try await Task.sleep(for: Self.work(rows: batch.rows, width: batch.length))
            return Array(repeating: 0.5, count: batch.rows * batch.segments * labelCount)
        }
    }

    @Test("a packing engine times packed forwards at warm-up and packs by their fit; fixed rows or no warm-up time none")
    func packingCostFittedAtWarmUp() async throws {
        for (rowWidth, warmUp) in [(BatchingConfiguration.RowWidth.fitted, true), (.fixed, true), (.fitted, false)] {
            let engine = try Self.engine([ShapeTimedBackend()]) {
                $0.batching.packedRowWidth = rowWidth
                if !warmUp { $0.warmUpTexts = [] }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await engine.run() }
                let moderator = try await engine.ready()
                let samples = engine.packingSamples
                if rowWidth == .fitted && warmUp {
                    // Widths of a quarter, half and all of the 128-token rows, one row and four.
                    let shapes = Set(samples.map { [$0.rows, $0.width] })
                    #expect(shapes == [[1, 32], [4, 32], [1, 64], [4, 64], [1, 128], [4, 128]] && samples.count == 6)
                    #expect(samples.allSatisfy { $0.seconds >= Self.ShapeTimedBackend.work(rows: $0.rows, width: $0.width).seconds })
                    // Whatever the machine's timing made of the fit, the engine and its batcher use exactly it.
                    #expect(engine.packingCost == PackingCostModel.fit(samples))
                } else {
                    #expect(samples.isEmpty && engine.packingCost == nil, "\(rowWidth), warm-up \(warmUp)")
                }
                #expect(moderator.batcher.packingCost == engine.packingCost, "the batcher packs by the engine's model")
                group.cancelAll()
            }
        }
    }

    @Test("a preset packing cost model is packed by without timing anything")
    func presetPackingCost() async throws {
        let preset = PackingCostModel(perForward: 1e-3, perToken: 1e-4, perTokenPerWidth: 1e-7)
        let engine = try Self.engine([ShapeTimedBackend()]) { $0.batching.packingCost = preset }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await engine.run() }
            let moderator = try await engine.ready()
            #expect(engine.packingCost == preset && engine.packingSamples.isEmpty)
            #expect(moderator.batcher.packingCost == preset)
            group.cancelAll()
        }
    }

    @Test("a backend that fails to load fails run() and every ready() waiter with the same error")
    func loadFailure() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk on fire" } }
        let engine = try ModerationEngine(
            bundle: try Self.bundle.get(), tokenizer: try Self.tokenizer.get(),
            backends: BackendLoader { _, _ in throw Broken() })
        let waiter = Task { try await engine.ready() }
        let error = await #expect(throws: EngineError.self) { try await engine.run() }
        #expect(error?.description.contains("disk on fire") == true)
        if case .failed(let reason) = engine.phase { #expect(reason.contains("disk on fire")) } else { Issue.record("phase \(engine.phase)") }
        let waited = await #expect(throws: EngineError.self) { _ = try await waiter.value }
        #expect(waited?.description.contains("disk on fire") == true)
    }

    @Test("a model whose output width differs from the manifest's labels is refused at load")
    func labelCountMismatch() async throws {
        let engine = try Self.engine([LengthBackend(labelCount: 2)])
        let error = await #expect(throws: EngineError.self) { try await engine.run() }
        #expect(error?.description.contains("2 outputs but its manifest names 3 labels") == true)
    }

    @Test("a waiter whose task is cancelled stops waiting")
    func cancelledWaiter() async throws {
        let engine = try Self.engine([LengthBackend(labelCount: 3)])
        let waiter = Task { try await engine.ready() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
    }

    @Test("graceful shutdown refuses new work, answers what was admitted, and ends run()")
    func gracefulShutdown() async throws {
        let gate = Gate(open: true)
        let engine = try Self.engine([LengthBackend(labelCount: 3, gate: gate)]) { $0.batching.maxBatchSize = 1 }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await engine.run() }
                let moderator = try await engine.ready()
                gate.close()
                let warm = gate.entered
                async let admitted = moderator.moderate(["first", "second message"], options: .init(lane: .bulk))
                await gate.waitUntilEntered(warm + 1)
                trigger.triggerGracefulShutdown()
                // Admission is closed once shutdown begins.
                try await eventually { moderator.batcher.isShuttingDown }
                let refused = await #expect(throws: ModerationError.self) { try await moderator.moderate(["too late"]) }
                #expect(refused?.code == .shuttingDown)
                gate.open()
                let response = try await admitted
                #expect(response.results.count == 2)
                try await group.waitForAll()
            }
        }
        #expect(engine.phase == .stopped)
    }
}

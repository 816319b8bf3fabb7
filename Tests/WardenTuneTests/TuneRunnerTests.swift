import Foundation
import Testing
import WardenCore
import WardenTestSupport
import WardenTune
import WordPiece

/// The tuning runner on a deterministic backend: every cell runs its own engine over the same backends and
/// reports figures that add up.
@Suite("TuneRunner: a small grid on a deterministic backend", .timeLimit(.minutes(1)))
struct TuneRunnerTests {
    @Test("every cell of the grid is measured, in grid order, with consistent figures")
    func grid() async throws {
        let bundle = try ModelBundle.load(directory: TestPaths.tinyBert.path)
        let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        let spec = TuneRunner.Spec(concurrency: 8, seconds: 1, warmup: 0.1, cacheSize: 0, maxBatchTokens: 4096, seed: 7)
        var seen: [TuneResult] = []
        let results = try await TuneRunner.runGrid(
            bundle: bundle, tokenizer: tokenizer, backends: BackendLoader { _, count in (0..<count).map { _ in LengthBackend(labelCount: 3) } },
            combo: ThreadCombo(workers: 2, torch: 1, blas: 1), sizes: [1, 4], delays: [0, 1],
            spec: spec, messages: ["hello there", "a longer message about the weekend plans", "gg"], rounds: 1
        ) { seen.append($0) }
        #expect(results.map(\.maxBatchSize) == [1, 1, 4, 4])
        #expect(results.map(\.delayMs) == [0, 1, 0, 1])
        #expect(seen.count == 4)
        for result in results {
            #expect(result.errors == 0)
            #expect(result.messages > 0)
            #expect(result.messagesPerSecond > 0)
            #expect(result.p50Ms <= result.p99Ms)
            #expect(result.meanBatch >= 1 && result.meanBatch <= Double(result.maxBatchSize))
            #expect((0...1).contains(result.paddingEfficiency))
            #expect(result.serveFlags.contains("--max-batch-size \(result.maxBatchSize)"))
            #expect(result.serveFlags.contains("--workers 2"))
            // The CSV line round-trips.
            let parsed = try #require(TuneResult(csvLine: result.csvLine))
            #expect(parsed.maxBatchSize == result.maxBatchSize && parsed.messages == result.messages && parsed.combo == result.combo)
        }
        #expect(results.filter { $0.maxBatchSize == 1 }.allSatisfy { $0.meanBatch == 1 })
    }

    /// A backend that says it computes in `precision`.
    struct PrecisionBackend: InferenceBackend {
        let inner = LengthBackend(labelCount: 3)
        let precision: String
        var labelCount: Int { inner.labelCount }
        var runtimeInfo: RuntimeInfo { RuntimeInfo(precision: precision) }
        func score(_ batch: TokenBatch) async throws -> [Float] { try await inner.score(batch) }
    }

    @Test("every cell runs on each precision's backends, labelled with the precision they report")
    func precisions() async throws {
        let bundle = try ModelBundle.load(directory: TestPaths.tinyBert.path)
        let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        let spec = TuneRunner.Spec(concurrency: 4, seconds: 0.3, warmup: 0.05, cacheSize: 0, maxBatchTokens: 4096, seed: 7)
        let variants: [any InferenceBackendFactory] = ["bf16", "fp32"].map { precision in
            BackendLoader { _, count in (0..<count).map { _ in PrecisionBackend(precision: precision) } }
        }
        let results = try await TuneRunner.runGrid(
            bundle: bundle, tokenizer: tokenizer, variants: variants,
            combo: ThreadCombo(workers: 1, torch: 1, blas: 1), sizes: [1, 4], delays: [0],
            spec: spec, messages: ["hello there", "gg"], rounds: 1)
        #expect(results.map(\.precision) == ["bf16", "fp32", "bf16", "fp32"])
        #expect(results.map(\.maxBatchSize) == [1, 1, 4, 4])
        for result in results {
            #expect(result.serveFlags.hasSuffix("--precision \(result.precision)"), "\(result.serveFlags)")
            #expect(TuneResult(csvLine: result.csvLine)?.precision == result.precision)
        }
        // A line written before the precision column reads as the stored precision, and recommends no flag.
        let old = try #require(TuneResult(csvLine: "2,1,1,padded,8,2,100,50.0,3.00,9.00,0.9000,2.00,0,1.00"))
        #expect(old.precision == "as-stored" && !old.serveFlags.contains("--precision"))
    }
}

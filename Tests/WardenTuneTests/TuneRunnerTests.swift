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
            spec: spec, messages: ["hello there", "a longer message about the weekend plans", "gg"], rounds: 1) { seen.append($0) }
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
}

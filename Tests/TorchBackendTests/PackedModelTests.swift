import Foundation
import Logging
import ServiceLifecycle
import Testing
import TorchBackend
import WardenCore
import WardenTestSupport

/// Sequence packing through the real shim: a packed forward must give every message the scores it gets alone.
@Suite("Packed forward through the C shim", .timeLimit(.minutes(5)))
struct PackedModelTests {
    /// `[CLS] … [SEP]` sequences of assorted lengths with ids spread over the whole vocabulary.
    static func sequences(_ lengths: [Int]) -> [[Int64]] {
        lengths.enumerated().map { n, length in
            [101] + (0..<(length - 2)).map { Int64((n * 7919 + $0 * 104_729) % 29_000 + 1000) } + [102]
        }
    }

    /// Packs `sequences` first-fit into rows of `capacity` tokens; returns the batch and each sequence's (row, slot).
    static func pack(_ sequences: [[Int64]], capacity: Int) -> (PackedTokenBatch, [(Int, Int)]) {
        var rows: [[Int]] = []
        var fill: [Int] = []
        var place: [(Int, Int)] = []
        for (i, sequence) in sequences.enumerated() {
            if let r = fill.firstIndex(where: { $0 + sequence.count <= capacity }) {
                place.append((r, rows[r].count))
                rows[r].append(i)
                fill[r] += sequence.count
            } else {
                place.append((rows.count, 0))
                rows.append([i])
                fill.append(sequence.count)
            }
        }
        let length = fill.max()!, segments = rows.map(\.count).max()!
        var ids = [Int64](repeating: 0, count: rows.count * length)
        var positions = ids, segmentIDs = ids
        for (r, row) in rows.enumerated() {
            var offset = r * length
            for (s, i) in row.enumerated() {
                for (c, id) in sequences[i].enumerated() {
                    ids[offset + c] = id
                    positions[offset + c] = Int64(c)
                    segmentIDs[offset + c] = Int64(s + 1)
                }
                offset += sequences[i].count
            }
        }
        return (
            PackedTokenBatch(
                rows: rows.count, length: length, segments: segments, inputIDs: ids,
                positionIDs: positions, segmentIDs: segmentIDs), place
        )
    }

    /// Worst |packed − alone| over `sequences`, scoring through `backend`.
    static func worstPackedDelta(_ backend: TorchBackend, _ sequences: [[Int64]], capacity: Int) async throws -> Float {
        let (batch, place) = pack(sequences, capacity: capacity)
        #expect(batch.segments > 1, "the test packs several messages per row")
        let packed = try await backend.scorePacked(batch)
        let labels = backend.labelCount
        #expect(packed.count == batch.rows * batch.segments * labels)
        var worst: Float = 0
        for (i, sequence) in sequences.enumerated() {
            let alone = try await backend.score(
                TokenBatch(
                    count: 1, length: sequence.count, inputIDs: sequence,
                    attentionMask: Array(repeating: 1, count: sequence.count)))
            let start = (place[i].0 * batch.segments + place[i].1) * labels
            worst = max(worst, zip(packed[start..<(start + labels)], alone).map { abs($0 - $1) }.max()!)
        }
        return worst
    }

    @Test("the fixture's packed entry point scores each message as it scores alone (fp32, 1e-5)")
    func packedEqualsAlone() async throws {
        let backend = try await TorchBackend.load(path: Fixtures.tinyPackedModel, packedEntryPoint: "forward_packed")
        #expect(backend.supportsPacking)
        let worst = try await Self.worstPackedDelta(backend, Self.sequences([5, 17, 3, 40, 9, 2, 60, 33, 12, 128, 7]), capacity: 64)
        #expect(worst <= 1e-5, "max |Δ| \(worst)")
    }

    @Test("a packed entry point the model lacks is refused at load, naming it")
    func missingPackedEntryPoint() async throws {
        let error = #expect(throws: TorchError.self) { try TorchModel(path: Fixtures.tinyModel, packedEntryPoint: "forward_packed") }
        #expect(error?.code == .signature)
        #expect(error?.message.contains("forward_packed") == true)
        let plain = try TorchModel(path: Fixtures.tinyPackedModel)
        let unbound = #expect(throws: TorchError.self) {
            try plain.forwardPacked(inputIDs: [101, 102], positionIDs: [0, 1], segmentIDs: [1, 1], rows: 1, length: 2, segments: 1)
        }
        #expect(unbound?.code == .signature, "without binding, the packed path is refused, not guessed")
    }

    @Test("the engine gives the same scores packed and padded (fixture bundle, fp32)")
    func engineScoresAlikePackedAndPadded() async throws {
        let texts = (0..<40).map { i in String(repeating: "word\(i % 7) ", count: 1 + (i * 13) % 45) + "end \(i)" }
        var results: [BatchingConfiguration.Packing: [[Float]]] = [:]
        for packing in BatchingConfiguration.Packing.allCases {
            var configuration = EngineConfiguration()
            configuration.batching.packing = packing
            configuration.batching.packedRowTokens = 96
            configuration.batching.interactive.maxQueueDelay = .milliseconds(20)
            configuration.moderator.cacheCapacity = 0
            let engine = try ModerationEngine(
                modelDirectory: Fixtures.tinyPacked.path, configuration: configuration,
                backends: TorchBackendFactory(runtime: nil), logger: Logger(label: "test"))
            let services = ServiceGroup(configuration: .init(services: [engine], logger: Logger(label: "test")))
            results[packing] = try await withThrowingTaskGroup(of: [[Float]].self) { group in
                group.addTask {
                    try await services.run()
                    return []
                }
                let moderator = try await engine.ready()
                #expect(moderator.batcher.packs == (packing == .auto))
                let scored = try await withThrowingTaskGroup(of: (Int, [Float]).self) { calls in
                    for (i, text) in texts.enumerated() {
                        calls.addTask { (i, try await moderator.moderate([text], options: .init()).results[0].scores) }
                    }
                    var out = [[Float]](repeating: [], count: texts.count)
                    for try await (i, scores) in calls { out[i] = scores }
                    return out
                }
                await services.triggerGracefulShutdown()
                _ = try await group.next()
                return scored
            }
        }
        let packed = try #require(results[.auto]), padded = try #require(results[.off])
        let worst = zip(packed, padded).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
        #expect(worst <= 1e-5, "max |Δ| \(worst)")
    }
}

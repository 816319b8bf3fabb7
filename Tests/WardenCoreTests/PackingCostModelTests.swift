import Synchronization
import Testing
import WardenCore

@Suite struct PackingCostModelTests {
    let truth = PackingCostModel(perForward: 0.8e-3, perToken: 90e-6, perTokenPerWidth: 0.15e-6)
    let shapes = [(1, 32), (4, 32), (1, 64), (4, 64), (1, 128), (4, 128)]

    @Test func recoversTheCoefficientsOfExactTimes() throws {
        let samples = shapes.map { PackingCostModel.Sample(rows: $0.0, width: $0.1, seconds: truth.seconds(rows: $0.0, width: $0.1)) }
        let fitted = try #require(PackingCostModel.fit(samples))
        #expect(abs(fitted.perForward - truth.perForward) < 1e-9)
        #expect(abs(fitted.perToken - truth.perToken) / truth.perToken < 1e-6)
        #expect(abs(fitted.perTokenPerWidth - truth.perTokenPerWidth) / truth.perTokenPerWidth < 1e-6)
    }

    @Test func aTermTheTimesDoNotSupportIsDroppedNotMadeNegative() throws {
        // Times that fall slightly with the row width for the same tokens: the unconstrained fit would give a
        // negative attention term; the model keeps it at zero instead.
        let samples = shapes.map { rows, width in
            PackingCostModel.Sample(rows: rows, width: width, seconds: 1e-3 + 50e-6 * Double(rows * width) * (1 - Double(width) / 4096))
        }
        let fitted = try #require(PackingCostModel.fit(samples))
        #expect(fitted.perForward >= 0 && fitted.perToken > 0 && fitted.perTokenPerWidth == 0)
    }

    @Test func oneShapeOrFlatTimesFitNothing() {
        #expect(PackingCostModel.fit([.init(rows: 1, width: 32, seconds: 1e-3), .init(rows: 1, width: 32, seconds: 2e-3)]) == nil)
        let flat = shapes.map { PackingCostModel.Sample(rows: $0.0, width: $0.1, seconds: 1e-3) }
        #expect(PackingCostModel.fit(flat) == nil, "times that do not grow with the tokens give no cost per token")
        #expect(PackingCostModel.fit([]) == nil)
    }

    @Test func secondsGrowWithRowsAndWithTheSquareOfTheWidth() {
        #expect(truth.seconds(rows: 2, width: 64) > truth.seconds(rows: 1, width: 64))
        let wide = truth.seconds(rows: 1, width: 128) - truth.seconds(rows: 2, width: 64)
        #expect(abs(wide - truth.perTokenPerWidth * 128 * 64) < 1e-12, "same tokens, twice the width: only attention differs")
    }

    /// A packing backend that records the batches it is given and answers at once.
    final class RecordingBackend: InferenceBackend, Sendable {
        let labelCount = 2
        let batches = Mutex<[PackedTokenBatch]>([])
        var supportsPacking: Bool { true }
        func score(_ batch: TokenBatch) async throws -> [Float] { Array(repeating: 0, count: batch.count * labelCount) }
        func scorePacked(_ batch: PackedTokenBatch) async throws -> [Float] {
            batches.withLock { $0.append(batch) }
            return Array(repeating: 0, count: batch.rows * batch.segments * labelCount)
        }
    }

    @Test func measureTimesThreeWidthsAndTwoRowCountsFourCallsEach() async throws {
        let backend = RecordingBackend()
        var batching = BatchingConfiguration()
        batching.packedRowTokens = 64
        let samples = try await PackingCostModel.measure(on: backend, batching: batching, tokenIDs: [101, 7, 8, 9, 102], padID: 0)
        let shapes: [[Int]] = samples.map { [$0.rows, $0.width] }
        #expect(shapes == [[1, 16], [4, 16], [1, 32], [4, 32], [1, 64], [4, 64]])
        #expect(samples.allSatisfy { $0.seconds >= 0 })
        let batches = backend.batches.withLock { $0 }
        #expect(batches.count == 24, "one untimed and three timed calls per shape")
        for batch in batches {
            // 12-token messages fill each row from the start; the rest of the row is padding (segment 0).
            let perRow = batch.length / 12
            #expect(batch.segments == perRow)
            for row in 0..<batch.rows {
                let segments = batch.segmentIDs[(row * batch.length)..<((row + 1) * batch.length)]
                let expected: [Int64] = (0..<(perRow * 12)).map { Int64($0 / 12 + 1) }
                #expect(Array(segments.prefix(perRow * 12)) == expected)
                #expect(segments.dropFirst(perRow * 12).allSatisfy { $0 == 0 })
                #expect(batch.positionIDs[row * batch.length + 12] == 0, "positions restart with each message")
            }
        }
    }
}

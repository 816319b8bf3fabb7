import Synchronization
import WardenCore

/// A deterministic backend whose output encodes its input: per row `[sum of real ids, real length]`.
/// Records every row it computed (unpadded). With `packs`, it also scores packed batches, answering each
/// message of a row as if it had been a row of its own, and records each packed batch's shape.
public final class EchoBackend: InferenceBackend, Sendable {
    public let labelCount = 2
    public let gate: Gate
    public let supportsPacking: Bool
    private let computed = Mutex<[[Int32]]>([])
    private let packedShapes = Mutex<[(rows: Int, segments: Int)]>([])
    private let work: Duration

    public init(gate: Gate = Gate(open: true), work: Duration = .zero, packs: Bool = false) {
        self.gate = gate
        self.work = work
        self.supportsPacking = packs
    }

    /// `(rows, segments)` of every packed batch scored so far.
    public var packedBatches: [(rows: Int, segments: Int)] { packedShapes.withLock { $0 } }

    public func scorePacked(_ batch: PackedTokenBatch) async throws -> [Float] {
        guard supportsPacking else { throw PackingUnsupported() }
        await gate.pass()
        if work > .zero { try await Task.sleep(for: work) }
        var output = [Float](repeating: -1, count: batch.rows * batch.segments * labelCount)
        var sequences: [[Int32]] = []
        for r in 0..<batch.rows {
            var slots = [[Int32]](repeating: [], count: batch.segments)
            for c in 0..<batch.length {
                let i = r * batch.length + c
                let segment = Int(batch.segmentIDs[i])
                guard segment > 0 else { continue }
                // Position ids must restart at 0 for each message.
                guard batch.positionIDs[i] == Int64(slots[segment - 1].count) else { throw PackingUnsupported() }
                slots[segment - 1].append(Int32(batch.inputIDs[i]))
            }
            for (s, slot) in slots.enumerated() where !slot.isEmpty {
                let start = (r * batch.segments + s) * labelCount
                output.replaceSubrange(start..<(start + labelCount), with: Self.expected(slot))
                sequences.append(slot)
            }
        }
        computed.withLock { $0 += sequences }
        packedShapes.withLock { $0.append((batch.rows, batch.segments)) }
        return output
    }

    /// Every row computed so far, unpadded.
    public var rows: [[Int32]] { computed.withLock { $0 } }

    /// The output row for `tokens`.
    public static func expected(_ tokens: [Int32]) -> [Float] {
        [Float(tokens.reduce(0) { $0 + Int($1) }), Float(tokens.count)]
    }

    public func score(_ batch: TokenBatch) async throws -> [Float] {
        await gate.pass()
        if work > .zero { try await Task.sleep(for: work) }
        var output: [Float] = []
        var rows: [[Int32]] = []
        for r in 0..<batch.count {
            var row: [Int32] = []
            for c in 0..<batch.length where batch.attentionMask[r * batch.length + c] == 1 {
                row.append(Int32(batch.inputIDs[r * batch.length + c]))
            }
            rows.append(row)
            output += Self.expected(row)
        }
        computed.withLock { $0 += rows }
        return output
    }
}

/// A deterministic stand-in for a model with `labelCount` sigmoid outputs, for HTTP and engine tests that
/// need no libtorch: every label of a row scores `(real length mod 100) / 100`, so longer texts score
/// higher and a test can predict each value. Batches can be held at a ``Gate``.
public struct LengthBackend: InferenceBackend {
    public let labelCount: Int
    public let gate: Gate

    public init(labelCount: Int, gate: Gate = Gate(open: true)) {
        self.labelCount = labelCount
        self.gate = gate
    }

    /// The score of every label of a row of `length` real tokens ([CLS] and [SEP] included).
    public static func score(length: Int) -> Float { Float(length % 100) / 100 }

    public func score(_ batch: TokenBatch) async throws -> [Float] {
        await gate.pass()
        var output: [Float] = []
        output.reserveCapacity(batch.count * labelCount)
        for row in 0..<batch.count {
            let length = batch.attentionMask[(row * batch.length)..<((row + 1) * batch.length)].reduce(0, +)
            output += Array(repeating: Self.score(length: Int(length)), count: labelCount)
        }
        return output
    }
}

import Synchronization
import WardenCore

/// A deterministic backend whose output encodes its input: per row `[sum of real ids, real length]`.
/// Records every row it computed (unpadded).
public final class EchoBackend: InferenceBackend, Sendable {
    public let labelCount = 2
    public let gate: Gate
    private let computed = Mutex<[[Int32]]>([])
    private let work: Duration

    public init(gate: Gate = Gate(open: true), work: Duration = .zero) {
        self.gate = gate
        self.work = work
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

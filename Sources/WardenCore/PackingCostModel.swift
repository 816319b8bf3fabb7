/// What a packed forward costs, as a function of its shape: `seconds ≈ perForward + perToken · rows · width +
/// perTokenPerWidth · rows · width²`.
///
/// The second term is the work that grows with the tokens computed (the Linear products, LayerNorm, GELU); the
/// third grows with each token's row width (attention: the scores, their mask and softmax, the attention
/// products), which packing pays for the whole row even when the row holds short messages. The engine fits the
/// three coefficients at warm-up from timed forwards of the real model (``fit(_:)``), and the batch queue uses
/// the model to pick each packed batch's row width (``BatchQueue``).
public struct PackingCostModel: Sendable, Hashable, CustomStringConvertible {
    /// Seconds per forward, whatever its shape.
    public var perForward: Double
    /// Seconds per computed token (padding included).
    public var perToken: Double
    /// Seconds per computed token per token of row width.
    public var perTokenPerWidth: Double

    public init(perForward: Double, perToken: Double, perTokenPerWidth: Double) {
        self.perForward = perForward
        self.perToken = perToken
        self.perTokenPerWidth = perTokenPerWidth
    }

    /// The modelled seconds of a forward over `rows` rows of `width` tokens.
    public func seconds(rows: Int, width: Int) -> Double {
        let tokens = Double(rows * width)
        return perForward + perToken * tokens + perTokenPerWidth * tokens * Double(width)
    }

    /// One timed forward: its shape and its time.
    public struct Sample: Sendable, Hashable {
        public var rows: Int
        public var width: Int
        public var seconds: Double

        public init(rows: Int, width: Int, seconds: Double) {
            self.rows = rows
            self.width = width
            self.seconds = seconds
        }
    }

    /// The least-squares fit of the three coefficients to `samples`, with every coefficient held at zero or above
    /// (a coefficient the fit would make negative is dropped and the rest fitted again). Nil when the samples
    /// cannot determine a positive cost per token (fewer than two distinct shapes, or times that do not grow
    /// with the tokens).
    public static func fit(_ samples: [Sample]) -> PackingCostModel? {
        guard Set(samples.map { [$0.rows, $0.width] }).count >= 2 else { return nil }
        // Columns: 1, tokens, tokens × width. A term the fit makes negative is dropped and the rest fitted again.
        var used = [0, 1, 2]
        while let c = leastSquares(samples, columns: used) {
            var coefficients = [0.0, 0.0, 0.0]
            for (k, column) in used.enumerated() { coefficients[column] = c[k] }
            guard coefficients[1] > minimumPerToken else { return nil }
            let negative = used.filter { coefficients[$0] < 0 }
            if negative.isEmpty {
                return PackingCostModel(perForward: coefficients[0], perToken: coefficients[1], perTokenPerWidth: coefficients[2])
            }
            used.removeAll { negative.contains($0) }
        }
        return nil
    }

    /// Times packed forwards of short messages (12 tokens each, cut from `tokenIDs`) on `backend` at three row
    /// widths — a quarter, half and all of `packedRowTokens` — and one and up to four rows; each sample is the
    /// fastest of three calls after one untimed call (the first call of a shape pays one-off costs). The samples
    /// to ``fit(_:)``. Run it while the backend computes nothing else.
    ///
    /// - Throws: what a forward throws.
    public static func measure(
        on backend: any InferenceBackend, batching: BatchingConfiguration, tokenIDs: [Int32], padID: Int32
    ) async throws -> [Sample] {
        let capacity = batching.packedRowTokens
        let ids: [Int64] = (tokenIDs.isEmpty ? [padID] : tokenIDs).map { Int64($0) }
        let message = 12
        let clock = ContinuousClock()
        var samples: [Sample] = []
        let manyRows = max(1, min(4, batching.maxBatchTokens / capacity))
        for width in Set([max(2, capacity / 4), max(2, capacity / 2), capacity]).sorted() {
            for rows in Set([1, manyRows]).sorted() {
                let segmentLength = min(message, width)
                let perRow = width / segmentLength
                var input = [Int64](), positions = [Int64](), segments = [Int64]()
                for _ in 0..<rows {
                    for c in 0..<width {
                        let segment = c / segmentLength
                        let padding = segment >= perRow
                        input.append(padding ? Int64(padID) : ids[c % ids.count])
                        positions.append(padding ? 0 : Int64(c % segmentLength))
                        segments.append(padding ? 0 : Int64(segment + 1))
                    }
                }
                let batch = PackedTokenBatch(
                    rows: rows, length: width, segments: perRow, inputIDs: input, positionIDs: positions, segmentIDs: segments)
                var times: [Duration] = []
                for _ in 0..<4 {
                    let t = clock.now
                    _ = try await backend.scorePacked(batch)
                    times.append(t.duration(to: clock.now))
                }
                samples.append(.init(rows: rows, width: width, seconds: times.dropFirst().min()!.seconds))
            }
        }
        return samples
    }

    /// Below a nanosecond per token, the times do not grow with the tokens: rounding noise, not a cost.
    static let minimumPerToken = 1e-9

    /// Solves the normal equations for the chosen columns (Gaussian elimination with partial pivoting).
    private static func leastSquares(_ samples: [Sample], columns: [Int]) -> [Double]? {
        func feature(_ s: Sample, _ column: Int) -> Double {
            let tokens = Double(s.rows * s.width)
            switch column {
            case 0: return 1
            case 1: return tokens
            default: return tokens * Double(s.width)
            }
        }
        let n = columns.count
        // Scaled so the normal equations stay well conditioned (tokens × width reaches ~10^5).
        let scale = columns.map { column in samples.map { abs(feature($0, column)) }.max() ?? 1 }
        var a = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        for s in samples {
            let x = columns.enumerated().map { feature(s, $0.element) / scale[$0.offset] }
            for i in 0..<n {
                for j in 0..<n { a[i][j] += x[i] * x[j] }
                a[i][n] += x[i] * s.seconds
            }
        }
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-12 else { return nil }
            a.swapAt(col, pivot)
            for row in 0..<n where row != col {
                let factor = a[row][col] / a[col][col]
                for k in col...n { a[row][k] -= factor * a[col][k] }
            }
        }
        return (0..<n).map { a[$0][n] / a[$0][$0] / scale[$0] }
    }

    public var description: String {
        func micro(_ seconds: Double) -> String { "\((seconds * 1e9).rounded() / 1000)" }
        return "\(micro(perForward)) µs per forward + \(micro(perToken)) µs per token + \(micro(perTokenPerWidth)) µs per token per width"
    }
}

import Foundation
import NIOPosix
import WardenCore

/// What the operator asks for (`--precision`).
public enum PrecisionPolicy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// As the file stores it, unmeasured (the library's default).
    case asStored = "as-stored"
    /// Time the stored precision against fp32 at load and take the faster (`warden`'s default).
    case auto
    /// The stored bf16 computation; refused for a model not stored in bf16 (Warden never converts to bf16).
    case bf16
    /// The stored weights computed in fp32 (converted at load when stored in bf16 or fp16).
    case fp32

    /// The values `--precision` takes.
    public static let commandLineChoices: [PrecisionPolicy] = [.auto, .bf16, .fp32]
    /// The policy of `warden` when none is asked for.
    public static let commandLineDefault = PrecisionPolicy.auto

    public var description: String { rawValue }

    /// The policy `--precision` names (any case): one of ``commandLineChoices``.
    public init(commandLine name: String) throws(PrecisionPlanError) {
        guard let policy = PrecisionPolicy(rawValue: name.lowercased()), Self.commandLineChoices.contains(policy) else {
            throw PrecisionPlanError(
                description: "--precision must be one of \(Self.commandLineChoices.map(\.rawValue).joined(separator: ", ")) (got \"\(name)\")")
        }
        self = policy
    }

    /// The precisions a comma-separated list names (`warden tune --precisions`): bf16, fp32 or as-stored (what
    /// a model stored in another precision, int8, is tuned in).
    public static func list(_ text: String) throws(PrecisionPlanError) -> [PrecisionPolicy] {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let precisions = items.compactMap { item in PrecisionPolicy(rawValue: item).flatMap { $0 == .auto ? nil : $0 } }
        guard !items.isEmpty, precisions.count == items.count else {
            throw PrecisionPlanError(description: "--precisions takes 'bf16' and/or 'fp32', comma-separated (got \"\(text)\")")
        }
        return precisions
    }

    /// What this policy computes a model stored in `storedPrecision` in, as policies: itself, or for `auto`
    /// every candidate it times (as-stored when that is neither bf16 nor fp32).
    public func choices(storedPrecision: String, fp32Verified: Bool) throws(PrecisionPlanError) -> [PrecisionPolicy] {
        guard self == .auto else { return [self] }
        let candidates = try PrecisionPlanner.candidates(policy: .auto, storedPrecision: storedPrecision, fp32Verified: fp32Verified)
        let named = candidates.compactMap { PrecisionPolicy(rawValue: $0.name) }.filter { $0 == .bf16 || $0 == .fp32 }
        return named.isEmpty ? [.asStored] : named
    }
}

/// One way to compute a bundle's model: a load precision and the name it is reported under.
public struct PrecisionCandidate: Sendable, Hashable, CustomStringConvertible {
    public var precision: TorchPrecision
    /// "bf16", "fp32", … (the bundle's stored precision when loaded as stored).
    public var name: String

    public init(precision: TorchPrecision, name: String) {
        self.precision = precision
        self.name = name
    }

    public var description: String { name }
}

/// A forward the planner times: `rows` rows of `length` tokens, padded (one message per row) or packed
/// (`segmentsPerRow` messages per row, through the packed entry point).
public struct ProbeShape: Sendable, Hashable, CustomStringConvertible {
    public var rows: Int
    public var length: Int
    /// Messages per row; 0 for a padded forward.
    public var segmentsPerRow: Int

    public init(rows: Int, length: Int, segmentsPerRow: Int = 0) {
        self.rows = rows
        self.length = length
        self.segmentsPerRow = segmentsPerRow
    }

    public var packed: Bool { segmentsPerRow > 0 }

    public var description: String { packed ? "\(rows)x\(length) packed" : "\(rows)x\(length)" }
}

/// The time of one forward per shape (the fastest of the repetitions), for one candidate.
public struct PrecisionMeasurement: Sendable, Equatable {
    public var candidate: PrecisionCandidate
    /// Milliseconds per forward, in the order of the plan's shapes.
    public var milliseconds: [Double]

    public init(candidate: PrecisionCandidate, milliseconds: [Double]) {
        self.candidate = candidate
        self.milliseconds = milliseconds
    }
}

/// The precision a factory's backends compute in, and why.
public struct PrecisionPlan: Sendable, Equatable, CustomStringConvertible {
    public var candidate: PrecisionCandidate
    /// Why this candidate (one sentence).
    public var reason: String
    /// The shapes timed (empty when nothing was measured).
    public var shapes: [ProbeShape]
    /// The figures of every candidate timed, the default (stored) one first.
    public var measurements: [PrecisionMeasurement]

    public init(candidate: PrecisionCandidate, reason: String, shapes: [ProbeShape] = [], measurements: [PrecisionMeasurement] = []) {
        self.candidate = candidate
        self.reason = reason
        self.shapes = shapes
        self.measurements = measurements
    }

    public var precision: TorchPrecision { candidate.precision }
    /// The name reported in logs, `/v1/models` and metrics.
    public var name: String { candidate.name }

    /// The figures, e.g. "bf16: 1x16 6.9 ms, 2x128 packed 75.0 ms; fp32: 1x16 4.1 ms, 2x128 packed 52.3 ms";
    /// empty when nothing was measured.
    public var figures: String {
        measurements.map { measurement in
            "\(measurement.candidate.name): "
                + zip(shapes, measurement.milliseconds)
                .map { "\($0) \(String(format: "%.1f", $1)) ms" }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    public var description: String { figures.isEmpty ? "\(name) (\(reason))" : "\(name) (\(reason); \(figures))" }
}

/// A precision that cannot be used with this model.
public struct PrecisionPlanError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Chooses the precision of a model's backends: with `auto`, by timing the model's own forwards in each
/// candidate precision on this machine. Which precision is faster depends on the CPU (bf16 products need
/// AVX-512 BF16 or AMX to be fast; fp32 products need the right OpenBLAS kernels), so it is measured, not
/// looked up. The decisions (``candidates(policy:storedPrecision:fp32Verified:)``,
/// ``choose(_:shapes:)``) are pure; ``measure(modelPath:packedEntryPoint:candidates:shapes:repetitions:)``
/// runs the model.
public enum PrecisionPlanner {
    /// An alternative replaces the stored precision only when it takes less than 1 − this of its time:
    /// within the margin the stored one is kept (half the weight memory, and what the model was released as).
    public static let margin = 0.05

    /// The shapes `auto` times: a short chat message alone (latency), and a bulk batch (throughput), packed
    /// when the model can pack.
    public static func shapes(packing: Bool) -> [ProbeShape] {
        [ProbeShape(rows: 1, length: 16), packing ? ProbeShape(rows: 2, length: 128, segmentsPerRow: 4) : ProbeShape(rows: 8, length: 32)]
    }

    /// Stored precisions that convert to fp32 at load (a quantised model does not).
    static let convertibleToFloat32: Set<String> = ["bf16", "fp16", "fp32"]

    /// The candidates for `policy`, the stored precision first; a single candidate needs no measurement.
    ///
    /// - Parameters:
    ///   - storedPrecision: the bundle's `precision` ("bf16", "fp32", "int8", …).
    ///   - fp32Verified: whether fp32 products passed the start-up check; `auto` leaves fp32 out otherwise.
    public static func candidates(
        policy: PrecisionPolicy, storedPrecision: String,
        fp32Verified: Bool
    ) throws(PrecisionPlanError) -> [PrecisionCandidate] {
        let stored = storedPrecision.lowercased()
        let asStored = PrecisionCandidate(precision: .asStored, name: stored)
        let float32 = stored == "fp32" ? asStored : PrecisionCandidate(precision: .float32, name: "fp32")
        switch policy {
        case .asStored:
            return [asStored]
        case .bf16:
            guard stored == "bf16" else {
                throw PrecisionPlanError(
                    description: "--precision bf16 needs a model stored in bf16; this one is stored in \(stored) (fp32 is the only conversion made at load)")
            }
            return [asStored]
        case .fp32:
            guard convertibleToFloat32.contains(stored) else {
                throw PrecisionPlanError(description: "--precision fp32 converts a model stored in bf16 or fp16; this one is stored in \(stored)")
            }
            return [float32]
        case .auto:
            guard stored != "fp32", convertibleToFloat32.contains(stored), fp32Verified else { return [asStored] }
            return [asStored, float32]
        }
    }

    /// Why a policy left one candidate (no measurement).
    static func reasonWithoutMeasurement(policy: PrecisionPolicy, storedPrecision: String, fp32Verified: Bool) -> String {
        let stored = storedPrecision.lowercased()
        switch policy {
        case .asStored: return "as stored"
        case .bf16, .fp32: return "asked for"
        case .auto:
            if stored == "fp32" { return "the model is stored in fp32" }
            if !convertibleToFloat32.contains(stored) { return "a model stored in \(stored) is not converted" }
            return "fp32 products failed the start-up check"
        }
    }

    /// Picks among timed candidates: `measurements[0]` is the stored precision, kept unless another takes
    /// less than 1 − ``margin`` of its time (geometric mean of the time ratios over the shapes, so the short
    /// and the long forward weigh alike). Candidates with a missing or non-positive figure are ignored.
    public static func choose(_ measurements: [PrecisionMeasurement], shapes: [ProbeShape]) -> PrecisionPlan {
        precondition(!measurements.isEmpty, "at least the stored precision is measured")
        let base = measurements[0]
        func usable(_ m: PrecisionMeasurement) -> Bool {
            m.milliseconds.count == shapes.count && !shapes.isEmpty && m.milliseconds.allSatisfy { $0.isFinite && $0 > 0 }
        }
        guard usable(base) else {
            return PrecisionPlan(candidate: base.candidate, reason: "as stored: its timing failed", shapes: shapes, measurements: measurements)
        }
        var best: (candidate: PrecisionCandidate, ratio: Double)?
        for other in measurements.dropFirst() where usable(other) {
            let logs = zip(other.milliseconds, base.milliseconds).map { log($0 / $1) }
            let ratio = exp(logs.reduce(0, +) / Double(logs.count))
            if best == nil || ratio < best!.ratio { best = (other.candidate, ratio) }
        }
        guard let best else {
            return PrecisionPlan(candidate: base.candidate, reason: "as stored: no other precision could be timed", shapes: shapes, measurements: measurements)
        }
        let ratio = String(format: "%.2f", best.ratio)
        if best.ratio < 1 - margin {
            return PrecisionPlan(
                candidate: best.candidate,
                reason: "measured: \(best.candidate.name) takes \(ratio)x the time of \(base.candidate.name)",
                shapes: shapes, measurements: measurements)
        }
        return PrecisionPlan(
            candidate: base.candidate,
            reason: "measured: \(best.candidate.name) takes \(ratio)x the time of \(base.candidate.name), not under \(String(format: "%.2f", 1 - margin))x",
            shapes: shapes, measurements: measurements)
    }

    /// The plan for `policy`: the only candidate, or the faster of those `measure` times. When the timing
    /// itself fails (a conversion the runtime refuses, say), the stored precision is kept: `auto` never stops
    /// a model from starting that would start as stored.
    public static func plan(
        policy: PrecisionPolicy, storedPrecision: String, fp32Verified: Bool, shapes: [ProbeShape],
        measure: ([PrecisionCandidate]) async throws -> [PrecisionMeasurement]
    ) async throws -> PrecisionPlan {
        let candidates = try candidates(policy: policy, storedPrecision: storedPrecision, fp32Verified: fp32Verified)
        guard candidates.count > 1 else {
            return PrecisionPlan(
                candidate: candidates[0],
                reason: reasonWithoutMeasurement(policy: policy, storedPrecision: storedPrecision, fp32Verified: fp32Verified))
        }
        let measurements: [PrecisionMeasurement]
        do {
            measurements = try await measure(candidates)
        } catch {
            return PrecisionPlan(candidate: candidates[0], reason: "as stored: timing the candidates failed (\(error))")
        }
        return choose(measurements, shapes: shapes)
    }

    /// Loads the model once per candidate, on a thread of its own, and times forwards of each shape:
    /// one warm-up forward each, then `repetitions` rounds interleaving candidates and shapes (so that a
    /// change in the machine's load touches every candidate alike); the figure is the fastest forward per
    /// shape, since on a busy machine other work only ever adds time (medians of 3 moved 2x there).
    /// Runs with the process's thread settings (apply them first), as the backends will.
    public static func measure(
        modelPath: String, packedEntryPoint: String?, candidates: [PrecisionCandidate], shapes: [ProbeShape],
        repetitions: Int = 5
    ) async throws -> [PrecisionMeasurement] {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        defer { thread.shutdownGracefully { _ in } }
        return try await thread.runIfActive { () throws -> [PrecisionMeasurement] in
            let needsPacked = shapes.contains(where: \.packed)
            let models = try candidates.map {
                try TorchModel(path: modelPath, precision: $0.precision, packedEntryPoint: needsPacked ? packedEntryPoint : nil)
            }
            let inputs = shapes.map(ProbeInput.init)
            let clock = ContinuousClock()
            var samples = Array(repeating: Array(repeating: [Double](), count: shapes.count), count: models.count)
            for round in 0...max(repetitions, 1) {
                for (c, model) in models.enumerated() {
                    for (s, input) in inputs.enumerated() {
                        let start = clock.now
                        try input.run(on: model)
                        let elapsed = start.duration(to: clock.now)
                        if round > 0 { samples[c][s].append(elapsed.milliseconds) }
                    }
                }
            }
            return zip(candidates, samples).map { candidate, perShape in
                PrecisionMeasurement(candidate: candidate, milliseconds: perShape.map { $0.min() ?? .nan })
            }
        }
    }
}

/// Token ids for a ``ProbeShape``: messages of `[CLS] … [SEP]` with ordinary word-piece ids.
private struct ProbeInput {
    let shape: ProbeShape
    let ids: [Int64]
    let mask: [Int64]
    let positions: [Int64]
    let segments: [Int64]

    init(_ shape: ProbeShape) {
        self.shape = shape
        var ids: [Int64] = [], positions: [Int64] = [], segments: [Int64] = []
        let perRow = max(shape.segmentsPerRow, 1)
        let messageLength = shape.length / perRow
        for row in 0..<shape.rows {
            for segment in 0..<perRow {
                for position in 0..<messageLength {
                    let id: Int64 = position == 0 ? 101 : position == messageLength - 1 ? 102 : Int64(1000 + (row * 131 + segment * 17 + position * 7) % 5000)
                    ids.append(id)
                    positions.append(Int64(position))
                    segments.append(Int64(segment + 1))
                }
            }
            for _ in (perRow * messageLength)..<shape.length {
                ids.append(0)
                positions.append(0)
                segments.append(0)
            }
        }
        self.ids = ids
        self.positions = positions
        self.segments = segments
        self.mask = segments.map { $0 == 0 ? 0 : 1 }
    }

    func run(on model: TorchModel) throws(TorchError) {
        if shape.packed, model.packedEntryPoint != nil {
            _ = try model.forwardPacked(
                inputIDs: ids, positionIDs: positions, segmentIDs: segments, rows: shape.rows, length: shape.length,
                segments: shape.segmentsPerRow)
        } else {
            _ = try model.forward(inputIDs: ids, attentionMask: mask, batch: shape.rows, length: shape.length)
        }
    }
}

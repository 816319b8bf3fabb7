import Foundation
import Synchronization
import Testing
import TorchBackend
import WardenCore

/// The precision plan: its decisions on given figures (no test depends on which precision is faster on the
/// machine that runs it), and the measurement and the factory on real models.
@Suite("Precision plan")
struct PrecisionPlanTests {
    static let bf16 = PrecisionCandidate(precision: .asStored, name: "bf16")
    static let fp32 = PrecisionCandidate(precision: .float32, name: "fp32")
    static let shapes = [ProbeShape(rows: 1, length: 16), ProbeShape(rows: 2, length: 128, segmentsPerRow: 4)]

    @Test("candidates: auto times bf16 against fp32 only for a bf16 model whose fp32 products passed the check")
    func candidates() throws {
        #expect(try PrecisionPlanner.candidates(policy: .auto, storedPrecision: "bf16", fp32Verified: true) == [Self.bf16, Self.fp32])
        #expect(try PrecisionPlanner.candidates(policy: .auto, storedPrecision: "BF16", fp32Verified: true) == [Self.bf16, Self.fp32])
        #expect(try PrecisionPlanner.candidates(policy: .auto, storedPrecision: "bf16", fp32Verified: false) == [Self.bf16])
        let storedFP32 = PrecisionCandidate(precision: .asStored, name: "fp32")
        #expect(try PrecisionPlanner.candidates(policy: .auto, storedPrecision: "fp32", fp32Verified: true) == [storedFP32])
        #expect(
            try PrecisionPlanner.candidates(policy: .auto, storedPrecision: "int8", fp32Verified: true)
                == [PrecisionCandidate(precision: .asStored, name: "int8")])
        #expect(try PrecisionPlanner.candidates(policy: .bf16, storedPrecision: "bf16", fp32Verified: true) == [Self.bf16])
        #expect(
            try PrecisionPlanner.candidates(policy: .fp32, storedPrecision: "bf16", fp32Verified: false) == [Self.fp32],
            "an explicit fp32 is honoured (the start-up log warns)")
        #expect(
            try PrecisionPlanner.candidates(policy: .fp32, storedPrecision: "fp32", fp32Verified: true) == [storedFP32],
            "an fp32 model is not converted")
        #expect(try PrecisionPlanner.candidates(policy: .asStored, storedPrecision: "bf16", fp32Verified: true) == [Self.bf16])
        #expect(throws: PrecisionPlanError.self) {
            try PrecisionPlanner.candidates(policy: .bf16, storedPrecision: "fp32", fp32Verified: true)
        }
        #expect(throws: PrecisionPlanError.self) {
            try PrecisionPlanner.candidates(policy: .fp32, storedPrecision: "int8", fp32Verified: true)
        }
    }

    static func measured(_ bf16: [Double], _ fp32: [Double]) -> [PrecisionMeasurement] {
        [PrecisionMeasurement(candidate: Self.bf16, milliseconds: bf16), PrecisionMeasurement(candidate: Self.fp32, milliseconds: fp32)]
    }

    @Test("choose: the faster candidate wins, by the geometric mean of the time ratios over the shapes")
    func choosesFaster() {
        // The Xeon without AMX, SKYLAKEX kernels: fp32 faster at both shapes.
        let xeon = PrecisionPlanner.choose(Self.measured([7.0, 156], [6.9, 90]), shapes: Self.shapes)
        #expect(xeon.candidate == Self.fp32)
        #expect(xeon.reason.contains("fp32 takes 0.75x the time of bf16"), "\(xeon.reason)")
        #expect(xeon.figures == "bf16: 1x16 7.0 ms, 2x128 packed 156.0 ms; fp32: 1x16 6.9 ms, 2x128 packed 90.0 ms")
        // The same CPU with Prescott kernels: fp32 slower.
        let prescott = PrecisionPlanner.choose(Self.measured([7.0, 156], [14.1, 362]), shapes: Self.shapes)
        #expect(prescott.candidate == Self.bf16)
        // Faster at one shape, slower at the other: the ratios' geometric mean decides (0.5 × 1.5 → 0.87).
        #expect(PrecisionPlanner.choose(Self.measured([10, 100], [5, 150]), shapes: Self.shapes).candidate == Self.fp32)
        #expect(PrecisionPlanner.choose(Self.measured([10, 100], [8, 150]), shapes: Self.shapes).candidate == Self.bf16)
    }

    @Test("choose: within the margin the stored precision is kept")
    func margin() {
        let close = PrecisionPlanner.choose(Self.measured([10, 100], [9.7, 97]), shapes: Self.shapes)
        #expect(close.candidate == Self.bf16)
        #expect(close.reason.contains("not under 0.95x"), "\(close.reason)")
        #expect(PrecisionPlanner.choose(Self.measured([10, 100], [9.4, 94]), shapes: Self.shapes).candidate == Self.fp32)
    }

    @Test("choose: a candidate whose timing failed is ignored")
    func brokenFigures() {
        #expect(PrecisionPlanner.choose(Self.measured([10, 100], [.nan, 1]), shapes: Self.shapes).candidate == Self.bf16)
        #expect(PrecisionPlanner.choose(Self.measured([10, 100], [0, 1]), shapes: Self.shapes).candidate == Self.bf16)
        #expect(PrecisionPlanner.choose(Self.measured([10, 100], [1]), shapes: Self.shapes).candidate == Self.bf16)
        #expect(PrecisionPlanner.choose(Self.measured([.infinity, 100], [1, 1]), shapes: Self.shapes).candidate == Self.bf16)
    }

    @Test("plan: one candidate is taken without measuring; several are measured once")
    func measuresOnlyWhenThereIsAChoice() async throws {
        let calls = Atomic<Int>(0)
        let fake: ([PrecisionCandidate]) async throws -> [PrecisionMeasurement] = { candidates in
            calls.add(1, ordering: .relaxed)
            return candidates.map { PrecisionMeasurement(candidate: $0, milliseconds: $0.name == "fp32" ? [1, 10] : [2, 20]) }
        }
        let fixed = try await PrecisionPlanner.plan(policy: .bf16, storedPrecision: "bf16", fp32Verified: true, shapes: Self.shapes, measure: fake)
        #expect(fixed.candidate == Self.bf16 && fixed.reason == "asked for" && fixed.measurements.isEmpty)
        let fp32Model = try await PrecisionPlanner.plan(policy: .auto, storedPrecision: "fp32", fp32Verified: true, shapes: Self.shapes, measure: fake)
        #expect(fp32Model.name == "fp32" && fp32Model.reason == "the model is stored in fp32")
        let unverified = try await PrecisionPlanner.plan(policy: .auto, storedPrecision: "bf16", fp32Verified: false, shapes: Self.shapes, measure: fake)
        #expect(unverified.candidate == Self.bf16 && unverified.reason.contains("failed the start-up check"))
        #expect(calls.load(ordering: .relaxed) == 0)
        let auto = try await PrecisionPlanner.plan(policy: .auto, storedPrecision: "bf16", fp32Verified: true, shapes: Self.shapes, measure: fake)
        #expect(calls.load(ordering: .relaxed) == 1)
        #expect(auto.candidate == Self.fp32 && auto.measurements.count == 2)
    }

    struct TimingFailed: Error {}

    @Test("plan: when timing fails, auto keeps the stored precision instead of failing the start")
    func timingFails() async throws {
        let plan = try await PrecisionPlanner.plan(policy: .auto, storedPrecision: "bf16", fp32Verified: true, shapes: Self.shapes) { _ in
            throw TimingFailed()
        }
        #expect(plan.candidate == Self.bf16)
        #expect(plan.reason.hasPrefix("as stored: timing the candidates failed"), "\(plan.reason)")
    }

    @Test("measure times every candidate at every shape on a real model (padded and packed)")
    func measuresRealModel() async throws {
        let stored = PrecisionCandidate(precision: .asStored, name: "fp32")
        let converted = PrecisionCandidate(precision: .float32, name: "fp32 converted")
        let shapes = [ProbeShape(rows: 1, length: 8), ProbeShape(rows: 2, length: 32, segmentsPerRow: 3)]
        let figures = try await PrecisionPlanner.measure(
            modelPath: Fixtures.tinyPackedModel, packedEntryPoint: "forward_packed",
            candidates: [stored, converted], shapes: shapes, repetitions: 2)
        #expect(figures.map(\.candidate) == [stored, converted])
        for measurement in figures {
            #expect(measurement.milliseconds.count == 2)
            #expect(measurement.milliseconds.allSatisfy { $0 > 0 && $0.isFinite }, "\(measurement)")
        }
        // A model without a packed entry point is timed padded at the packed shape.
        let padded = try await PrecisionPlanner.measure(
            modelPath: Fixtures.tinyModel, packedEntryPoint: nil, candidates: [stored],
            shapes: shapes, repetitions: 1)
        #expect(padded[0].milliseconds.count == 2)
    }

    @Test("the factory refuses bf16 for a model stored in fp32, and reports the precision its backends compute in")
    func factory() async throws {
        let bundle = try ModelBundle.load(directory: Fixtures.tinyBert.path)
        await #expect(throws: PrecisionPlanError.self) {
            _ = try await TorchBackendFactory(runtime: nil, precision: .bf16).makeBackends(for: bundle, count: 1)
        }
        for policy in [PrecisionPolicy.auto, .fp32, .asStored] {
            let backends = try await TorchBackendFactory(runtime: nil, precision: policy).makeBackends(for: bundle, count: 1)
            #expect(backends.first?.runtimeInfo.precision == "fp32", "\(policy)")
            #expect(backends.first?.runtimeInfo.blasCore == TorchRuntime.blasCore.core)
        }
    }
}

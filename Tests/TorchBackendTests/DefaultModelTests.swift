import Foundation
import Testing
import TorchBackend
import WardenCore
import WordPiece

/// The shipped default model, end to end in Swift (normalisation → tokenizer → shim → model), against what
/// the Python pipeline wrote (`Tests/Fixtures/default_model_golden.json`).
///
/// Three kinds of check, so that none depends on which x86-64 CPU runs the suite:
/// - **exact**: normalised text and token ids are pure integer/string work and must match Python exactly;
/// - **fp32 parity at 1e-5**: the same weights computed in fp32 (``TorchPrecision/float32``) against Python's
///   fp32 computation (`probabilities_fp32`, written by `scripts/train/golden_fp32.py`). fp32 results agree on every
///   CPU to float rounding, so this is the tight check of the shim and the whole pipeline;
/// - **bf16 within a bound derived from bf16 precision**, with identical decisions away from the threshold:
///   the shipped bf16 model against the bf16 probabilities recorded on another CPU (`bf16_cpu`).
///
/// Every golden text is scored alone (batch 1, no padding), as Python scored it: bf16 results also depend
/// slightly on a batch's padding, which is not what these tests are about.
@Suite("Default model parity with the Python pipeline", .serialized, .timeLimit(.minutes(10)))
struct DefaultModelTests {
    struct Golden: Decodable {
        struct Item: Decodable {
            let id: String
            let text: String
            let normalized_text: String
            let token_ids: [Int32]
            let truncated: Bool
            let probabilities: [Float]
            let probabilities_fp32: [Float]
        }
        struct CPU: Decodable {
            let model_name: String
            let bf16_flags: [String]
        }
        let labels: [String]
        let max_sequence_length: Int
        let bf16_cpu: CPU
        let items: [Item]
    }

    /// How far the shipped bf16 model's probability may move between two CPUs.
    ///
    /// Derivation. bf16 keeps 8 significant bits (unit roundoff u = 2⁻⁸ ≈ 0.0039). The graph rounds to bf16
    /// at the same points on every CPU; what differs is only the order in which a kernel accumulates its
    /// products (oneDNN accumulates in fp32 on AVX-512 BF16 and on AMX alike), which decides to which
    /// neighbouring bf16 value an intermediate rounds. Every CPU's result therefore stays inside the envelope
    /// of bf16 rounding around the exact (fp32) computation of the same weights. That envelope was measured
    /// over the golden texts as the largest |p_bf16 − p_fp32|: **0.0222** for v1 in the training graph (AMD
    /// EPYC with AVX-512 BF16, no AMX, where the golden was computed). Two CPUs inside it differ by at most
    /// twice that, 0.0444, rounded up to **0.05**. For scale: the AMX machine on which the old 1e-4 check
    /// failed differed from the golden by at most 0.0049. The fast graph (fp32 LayerNorm and residuals) has a
    /// narrower envelope: 0.0066 for v1's weights, 0.0086 for v2's over 244 texts; the bound stays 0.05.
    static let bf16Bound: Float = 0.05

    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    static func load() throws -> (Golden, ModelBundle, WordPieceTokenizer) {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Fixtures.root.appendingPathComponent("default_model_golden.json")))
        let bundle = try ModelBundle.load(directory: repository.appendingPathComponent("models/minilm-moderation").path)
        return (golden, bundle, try WordPieceTokenizer(directory: bundle.tokenizerDirectory))
    }

    /// Scores one golden text alone (batch 1, no padding).
    static func score(_ item: Golden.Item, _ backend: TorchBackend) async throws -> [Float] {
        let ids = item.token_ids.map(Int64.init)
        return try await backend.score(
            TokenBatch(
                count: 1, length: ids.count, inputIDs: ids,
                attentionMask: Array(repeating: 1, count: ids.count)))
    }

    @Test("normalised text and token ids of 200+ test-split texts equal Python's exactly")
    func exactTokenization() throws {
        let (golden, bundle, tokenizer) = try Self.load()
        #expect(golden.items.count >= 200)
        #expect(bundle.labels == golden.labels)
        #expect(bundle.maxSequenceLength == golden.max_sequence_length)
        #expect(golden.items.contains { $0.truncated }, "the golden exercises truncation")
        for item in golden.items {
            let normalized = normalizeText(item.text, bundle.textNormalization)
            #expect(normalized == item.normalized_text, "\(item.id): normalisation differs")
            let encoding = tokenizer.encode(normalized, maxLength: bundle.maxSequenceLength)
            #expect(encoding.ids == item.token_ids, "\(item.id): token ids differ")
            #expect(encoding.truncated == item.truncated, "\(item.id)")
        }
    }

    @Test("the shipped weights computed in fp32 match Python's fp32 probabilities within 1e-5")
    func fp32Parity() async throws {
        let (golden, bundle, _) = try Self.load()
        let backend = try await TorchBackend.load(path: bundle.modelPath, expectedLabels: bundle.labels.count, precision: .float32)
        #expect(backend.model.precision == .float32)
        var worst: Float = 0
        var differsFromBF16 = false
        for item in golden.items {
            let scores = try await Self.score(item, backend)
            let delta = zip(scores, item.probabilities_fp32).map { abs($0 - $1) }.max() ?? .infinity
            worst = max(worst, delta)
            #expect(delta <= 1e-5, "\(item.id): max |Δ| \(delta)")
            if zip(scores, item.probabilities).contains(where: { abs($0 - $1) > 1e-4 }) { differsFromBF16 = true }
        }
        #expect(differsFromBF16, "the fp32 conversion changed nothing: the model still computes in bf16")
        print("default model fp32 vs Python fp32: max |Δ| = \(worst) over \(golden.items.count) texts")
    }

    @Test("the shipped bf16 model stays within the bf16 bound of the golden, with the same decisions away from the thresholds")
    func bf16WithinBound() async throws {
        let (golden, bundle, _) = try Self.load()
        let backend = try await TorchBackend.load(path: bundle.modelPath, expectedLabels: bundle.labels.count)
        var worstVsGolden: Float = 0
        var worstVsFP32: Float = 0
        var decisionsChecked = 0
        var decisionsTotal = 0
        for item in golden.items {
            let scores = try await Self.score(item, backend)
            for (label, threshold) in bundle.thresholds.enumerated() {
                let (here, there, fp32) = (scores[label], item.probabilities[label], item.probabilities_fp32[label])
                worstVsGolden = max(worstVsGolden, abs(here - there))
                worstVsFP32 = max(worstVsFP32, abs(here - fp32))
                #expect(abs(here - there) <= Self.bf16Bound, "\(item.id) \(bundle.labels[label]): \(here) vs golden \(there)")
                decisionsTotal += 1
                // A score farther than the bound from the threshold cannot change side on any CPU.
                if abs(there - threshold) > Self.bf16Bound {
                    decisionsChecked += 1
                    #expect(
                        (here >= threshold) == (there >= threshold),
                        "\(item.id) \(bundle.labels[label]): \(here) vs golden \(there), threshold \(threshold)")
                }
            }
        }
        // The decision check must cover nearly every decision, or it proves nothing.
        #expect(decisionsChecked * 10 >= decisionsTotal * 9, "only \(decisionsChecked) of \(decisionsTotal) decisions lie outside the bound")
        print(
            """
            default model bf16 (this CPU) vs golden bf16 (\(golden.bf16_cpu.model_name), \(golden.bf16_cpu.bf16_flags.joined(separator: " "))): \
            max |Δ| = \(worstVsGolden); vs fp32 reference: max |Δ| = \(worstVsFP32); bound \(Self.bf16Bound); \
            \(decisionsChecked) of \(decisionsTotal) decisions checked
            """)
    }

    @Test("--precision auto on the shipped model measures bf16 and fp32, and its backends keep the parity of the precision chosen")
    func autoPlanParity() async throws {
        let (golden, bundle, _) = try Self.load()
        let factory = TorchBackendFactory(runtime: nil, precision: .auto)
        let plan = try await factory.plan(for: bundle)
        print("default model precision plan on this CPU: \(plan)")
        if TorchRuntime.blasCore.fp32Verified {
            #expect(plan.measurements.map(\.candidate.name) == ["bf16", "fp32"], "\(plan)")
            #expect(plan.measurements.allSatisfy { $0.milliseconds.count == plan.shapes.count && $0.milliseconds.allSatisfy { $0 > 0 } })
        }
        // Loaded as the factory loads its backends for this plan (without timing the candidates again).
        let backend = try await TorchBackend.load(
            path: bundle.modelPath, expectedLabels: bundle.labels.count, precision: plan.precision,
            precisionName: plan.name)
        #expect(backend.runtimeInfo.precision == (backend.model.precision == .float32 ? "fp32" : "bf16"))
        for item in golden.items {
            let scores = try await Self.score(item, backend)
            if backend.model.precision == .float32 {
                let delta = zip(scores, item.probabilities_fp32).map { abs($0 - $1) }.max() ?? .infinity
                #expect(delta <= 1e-5, "\(item.id): fp32 max |Δ| \(delta)")
            } else {
                let delta = zip(scores, item.probabilities).map { abs($0 - $1) }.max() ?? .infinity
                #expect(delta <= Self.bf16Bound, "\(item.id): bf16 max |Δ| \(delta)")
            }
        }
    }

    @Test("the shipped model declares its packed entry point, and packed golden texts score as they do alone (fp32, 1e-5)")
    func packedParity() async throws {
        let (golden, bundle, _) = try Self.load()
        let entry = try #require(bundle.packedEntryPoint, "the default bundle ships the fast graph with forward_packed")
        let backend = try await TorchBackend.load(
            path: bundle.modelPath, expectedLabels: bundle.labels.count, precision: .float32,
            packedEntryPoint: entry)
        let sequences = golden.items.map { $0.token_ids.map(Int64.init) }
        let worst = try await PackedModelTests.worstPackedDelta(backend, sequences, capacity: 128)
        #expect(worst <= 1e-5, "max |Δ| \(worst)")
        print("default model packed vs alone (fp32): max |Δ| = \(worst) over \(sequences.count) texts")
    }
}

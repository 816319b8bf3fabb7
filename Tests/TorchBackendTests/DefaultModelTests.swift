import Foundation
import Testing
import TorchBackend
import WardenCore
import WordPiece

/// The shipped default model, end to end in Swift (normalisation → tokenizer → shim → model), against the
/// probabilities the Python training pipeline wrote (`Tests/Fixtures/default_model_golden.json`).
@Suite("Default model parity with the Python pipeline")
struct DefaultModelTests {
    struct Golden: Decodable {
        struct Item: Decodable {
            let id: String
            let text: String
            let normalized_text: String
            let token_ids: [Int32]
            let truncated: Bool
            let probabilities: [Float]
        }
        let labels: [String]
        let max_sequence_length: Int
        let items: [Item]
    }

    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    @Test("200+ test-split texts match Python's probabilities within 1e-4")
    func parity() async throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Fixtures.root.appendingPathComponent("default_model_golden.json")))
        #expect(golden.items.count >= 200)
        let bundle = try ModelBundle.load(directory: Self.repository.appendingPathComponent("models/minilm-moderation").path)
        #expect(bundle.labels == golden.labels)
        #expect(bundle.maxSequenceLength == golden.max_sequence_length)
        let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        let backend = try await TorchBackend.load(path: bundle.modelPath, expectedLabels: bundle.labels.count)
        var worst: Float = 0
        for item in golden.items {
            let normalized = normalizeText(item.text, bundle.textNormalization)
            #expect(normalized == item.normalized_text, "\(item.id): normalisation differs")
            let encoding = tokenizer.encode(normalized, maxLength: bundle.maxSequenceLength)
            #expect(encoding.ids == item.token_ids, "\(item.id): token ids differ")
            #expect(encoding.truncated == item.truncated, "\(item.id)")
            // One text per call, as the golden was computed (bf16 results depend slightly on padding).
            let ids = encoding.ids.map(Int64.init)
            let scores = try await backend.score(TokenBatch(count: 1, length: ids.count, inputIDs: ids, attentionMask: Array(repeating: 1, count: ids.count)))
            let delta = zip(scores, item.probabilities).map { abs($0 - $1) }.max() ?? .infinity
            worst = max(worst, delta)
            #expect(delta <= 1e-4, "\(item.id): max |Δ| \(delta)")
        }
        #expect(worst <= 1e-4)
    }
}

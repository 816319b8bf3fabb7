import Foundation
import WardenTestSupport

/// Paths of the committed test fixtures (made by scripts/generate/make_test_model.py).
enum Fixtures {
    static let root = TestPaths.fixtures
    static let tinyBert = root.appendingPathComponent("tiny-bert")
    static let tinyModel = tinyBert.appendingPathComponent("model.pt").path
    /// The fast graph (scripts/train/fast_graph.py) with random fp32 weights and a packed entry point.
    static let tinyPacked = root.appendingPathComponent("tiny-bert-packed")
    static let tinyPackedModel = tinyPacked.appendingPathComponent("model.pt").path
    static func badModel(_ name: String) -> String { root.appendingPathComponent("bad-models/\(name)").path }

    struct Golden: Decodable {
        struct Case: Decodable {
            let batch: Int
            let length: Int
            let input_ids: [Int64]
            let attention_mask: [Int64]
            let output: [Float]
        }
        let labels: Int
        let cases: [Case]
    }

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: tinyBert.appendingPathComponent("golden.json")))
    }
}

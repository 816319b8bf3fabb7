import Foundation
import WardenTestSupport
import WordPiece

/// Paths and shared fixtures for the WordPiece tests.
enum Fixture {
    static let repositoryRoot = TestPaths.root
    static let tokenizerDirectory = TestPaths.tokenizer.path
    static let goldenURL = TestPaths.fixture("tokenizer/golden.jsonl")
    static let scalarDigestsURL = TestPaths.fixture("tokenizer/scalar_digests.json")
    static let normalizationGoldenURL = TestPaths.fixture("normalization_golden.jsonl")

    /// The tokenizer of the repository's tokenizer/ directory, loaded once.
    static let tokenizer: WordPieceTokenizer = {
        do { return try WordPieceTokenizer(directory: tokenizerDirectory) } catch {
            fatalError("cannot load \(tokenizerDirectory): \(error)")
        }
    }()

    static func jsonLines<T: Decodable>(_ url: URL, as type: T.Type) throws -> [T] {
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        return try data.split(separator: 0x0A).map { try decoder.decode(T.self, from: Data($0)) }
    }
}

/// FNV-1a 64 over ids as little-endian int32 (as scripts/warden_tools/tokenizer_reference.py `ids_digest`).
func idsDigest(_ ids: [Int32]) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for id in ids {
        var v = UInt32(bitPattern: id)
        for _ in 0..<4 {
            h = (h ^ UInt64(v & 0xFF)) &* 0x0000_0100_0000_01b3
            v >>= 8
        }
    }
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

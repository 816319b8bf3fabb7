import Testing
import WordPiece

/// The tokenizer benchmark of `warden tokenize --benchmark`: what it counts, and the line it prints.
@Suite("Encode benchmark")
struct EncodeBenchmarkTests {
    @Test("counts the texts, bytes and ids of one run, and prints them with the best run's rate")
    func counts() throws {
        let tokenizer = try WordPieceTokenizer(
            vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"],
            configuration: TokenizerConfiguration())
        let result = EncodeBenchmark(tokenizer, texts: ["hello world", "hello"], repeats: 3, maxLength: WordPieceTokenizer.defaultMaxLength)
        #expect(result.texts == 6)
        #expect(result.bytes == 16 * 3)
        #expect(result.tokens == (4 + 3) * 3)
        #expect(result.best > .zero)
        #expect(result.description.hasPrefix("warden encode (Swift, 1 thread): 6 texts, 0.00 MB, 21 tokens, best of \(EncodeBenchmark.runs): "))
    }
}

import Foundation
import Testing
import WordPiece

@Suite struct TokenizerTests {
    let tokenizer = Fixture.tokenizer

    @Test func loadsTheRepositoryTokenizer() {
        #expect(tokenizer.vocabularySize == 30522)
        #expect(tokenizer.padID == 0 && tokenizer.unkID == 100 && tokenizer.clsID == 101 && tokenizer.sepID == 102)
        #expect(tokenizer.configuration.lowercase && tokenizer.configuration.stripAccents)
        #expect(tokenizer.configuration.maxInputCharsPerWord == 100)
    }

    @Test func encodesASentence() {
        let e = tokenizer.encode("Hello, WORLD! Naïve café", maxLength: 16)
        #expect(tokenizer.tokens(forIDs: e.ids) == ["[CLS]", "hello", ",", "world", "!", "naive", "cafe", "[SEP]"])
        #expect(e.attentionMask == [Int32](repeating: 1, count: e.ids.count))
        #expect(!e.truncated)
    }

    /// Warden neutralises user-typed special tokens: they are ordinary text, never structure.
    @Test(arguments: ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"])
    func specialTokenLiteralsAreNeutralised(_ literal: String) {
        let e = tokenizer.encode("hi \(literal) there", maxLength: 64)
        let tokens = tokenizer.tokens(forIDs: e.ids)
        #expect(tokens.first == "[CLS]" && tokens.last == "[SEP]")
        let inner = e.ids.dropFirst().dropLast()
        let specials = Set([tokenizer.clsID, tokenizer.sepID, tokenizer.padID, tokenizer.unkID] + (tokenizer.maskID.map { [$0] } ?? []))
        #expect(!inner.contains { specials.contains($0) }, "\(tokens)")
        #expect(tokens.contains("[") && tokens.contains("]"))
        #expect(tokenizer.tokens(forIDs: tokenizer.encode("[CLS]", maxLength: 16).ids) == ["[CLS]", "[", "cl", "##s", "]", "[SEP]"])
    }

    @Test func perWordLimitCountsScalars() {
        #expect(tokenizer.wordPieceIDs(String(repeating: "a", count: 101)) == [tokenizer.unkID])
        #expect(tokenizer.wordPieceIDs(String(repeating: "a", count: 100)) != [tokenizer.unkID])
        // "é" is 2 UTF-8 bytes but one scalar after accent stripping: 100 of them are still within the limit.
        #expect(tokenizer.wordPieceIDs(String(repeating: "é", count: 100)) == tokenizer.wordPieceIDs(String(repeating: "e", count: 100)))
    }

    @Test func emptyAndWhitespaceOnlyTexts() {
        for text in ["", " ", "\t\n\r", "\u{3000}", "\u{200B}", "\0"] {
            #expect(tokenizer.encode(text, maxLength: 8).ids == [tokenizer.clsID, tokenizer.sepID])
        }
    }

    @Test func buildsFromAVocabularyInMemory() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "runn", "##ing", ","]
        let t = try WordPieceTokenizer(vocabulary: vocab, configuration: TokenizerConfiguration())
        #expect(t.tokens(forIDs: t.wordPieceIDs("UNaffable, running unknown")) == ["un", "##aff", "##able", ",", "runn", "##ing", "[UNK]"])
        #expect(t.tokens(forIDs: [99, -1]) == ["[UNK]", "[UNK]"])
    }

    @Test func reportsActionableLoadErrors() {
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(directory: "/nonexistent/tokenizer") }
        do {
            _ = try WordPieceTokenizer(directory: "/nonexistent/tokenizer")
        } catch {
            #expect(error.description.contains("/nonexistent/tokenizer/vocab.txt"))
        }
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(vocabulary: [], configuration: TokenizerConfiguration()) }
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(vocabulary: ["[UNK]"], configuration: TokenizerConfiguration()) }
    }

    @Test func configurationDecodesSnakeCaseWithDefaults() throws {
        let json = #"{"lowercase": false, "max_input_chars_per_word": 50}"#
        let c = try JSONDecoder().decode(TokenizerConfiguration.self, from: Data(json.utf8))
        #expect(!c.lowercase && !c.stripAccents && c.maxInputCharsPerWord == 50 && c.clsToken == "[CLS]")
    }
}

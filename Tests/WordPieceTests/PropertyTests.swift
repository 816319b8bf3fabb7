import Testing
import WardenCore
import WardenTestSupport
import WordPiece

/// Seeded random inputs: never crash, respect the maximum length, stay inside the vocabulary.
@Suite struct PropertyTests {
    let tokenizer = Fixture.tokenizer

    func check(_ text: String, maxLength: Int) {
        let e = tokenizer.encode(text, maxLength: maxLength)
        #expect(e.ids.count >= 2 && e.ids.count <= maxLength)
        #expect(e.ids.first == tokenizer.clsID && e.ids.last == tokenizer.sepID)
        #expect(e.ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
        let pieces = tokenizer.wordPieceIDs(text)
        #expect(pieces.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
        #expect(e.truncated == (pieces.count > maxLength - 2))
        #expect(Array(e.ids.dropFirst().dropLast()) == Array(pieces.prefix(maxLength - 2)))
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text: String
            if let valid = try? WordPieceTokenizer.decodeUTF8(bytes) {
                text = valid
            } else {
                text = String(decoding: bytes, as: UTF8.self)  // repaired with U+FFFD, which the tokenizer drops
            }
            check(text, maxLength: Int.random(in: 2...64, using: &rng))
        }
    }

    @Test func randomScalars() {
        var rng = SplitMix64(seed: 2)
        let ranges: [ClosedRange<UInt32>] = [
            0...0x7F, 0x80...0x7FF, 0x800...0xFFFF, 0x10000...0x10FFFF, 0x300...0x36F,
            0xAC00...0xD7A3, 0x4E00...0x9FFF, 0x1F300...0x1FAFF,
        ]
        for _ in 0..<5_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...120, using: &rng) {
                let r = ranges.randomElement(using: &rng)!
                if let u = Unicode.Scalar(UInt32.random(in: r, using: &rng)) { s.append(u) }
            }
            check(String(s), maxLength: Int.random(in: 2...300, using: &rng))
        }
    }

    @Test func randomWordsFromTheVocabulary() {
        var rng = SplitMix64(seed: 3)
        let vocab = tokenizer.tokens(forIDs: (0..<Int32(tokenizer.vocabularySize)).map { $0 })
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                var piece = vocab.randomElement(using: &rng)!
                if piece.hasPrefix("##") { piece.removeFirst(2) }
                text += piece + (Bool.random(using: &rng) ? " " : "")
            }
            check(text, maxLength: Int.random(in: 2...64, using: &rng))
        }
    }
}

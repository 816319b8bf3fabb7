import Foundation
import Testing
import WordPiece

/// Parity with Hugging Face `tokenizers` (goldens written by scripts/generate/make_tokenizer_golden.py).
@Suite struct GoldenTests {
    struct Case: Decodable {
        var source: String
        var text: String
        var ids: [Int32]
        var count: Int?
        var digest: String?
        var hf_ids: [Int32]?
    }

    static let specialLiterals = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]

    @Test func goldenEncodingsMatchTheReference() throws {
        let tokenizer = Fixture.tokenizer
        let cases = try Fixture.jsonLines(Fixture.goldenURL, as: Case.self)
        #expect(cases.count > 3000)
        #expect(cases.contains { $0.source == "adversarial" })
        var mismatches: [String] = []
        var referenceDifferences = 0
        for c in cases {
            let ids = tokenizer.encode(c.text, maxLength: Int.max).ids
            let ok: Bool
            if let count = c.count, let digest = c.digest {
                ok = ids.count == count && idsDigest(ids) == digest && Array(ids.prefix(c.ids.count)) == c.ids
            } else {
                ok = ids == c.ids
            }
            if !ok { mismatches.append("\(c.source): \(String(c.text.prefix(80)).debugDescription)") }
            if c.hf_ids != nil {
                // The only allowed difference from the reference: user-typed special-token literals.
                referenceDifferences += 1
                #expect(Self.specialLiterals.contains { c.text.contains($0) }, "\(c.text.debugDescription)")
            }
        }
        #expect(referenceDifferences > 0)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) golden cases differ, e.g. \(mismatches.prefix(5))")
    }

    @Test func truncationKeepsTheFirstPiecesAndEndsWithSEP() throws {
        let tokenizer = Fixture.tokenizer
        let cases = try Fixture.jsonLines(Fixture.goldenURL, as: Case.self).filter { $0.count == nil }
        for c in cases {
            for maxLength in [2, 3, 8, 128] {
                let e = tokenizer.encode(c.text, maxLength: maxLength)
                if c.ids.count <= maxLength {
                    #expect(e.ids == c.ids && !e.truncated)
                } else {
                    #expect(e.ids == Array(c.ids.prefix(maxLength - 1)) + [tokenizer.sepID] && e.truncated)
                }
            }
            #expect(tokenizer.wordPieceIDs(c.text) == Array(c.ids.dropFirst().dropLast()))
        }
    }

    /// Every scalar, alone between "a" and "b", gives the reference's basic tokens (cleaning, CJK,
    /// accent stripping, lower-casing, whitespace and punctuation splitting), block by block.
    @Test func everyScalarMatchesTheReference() throws {
        struct Digests: Decodable { var digests: [String] }
        let expected = try JSONDecoder().decode(Digests.self, from: Data(contentsOf: Fixture.scalarDigestsURL)).digests
        let tokenizer = Fixture.tokenizer
        var differing: [Int] = []
        for block in 0..<17 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for v in UInt32(block << 16)..<UInt32((block + 1) << 16) {
                guard let s = Unicode.Scalar(v) else { continue }
                let words = tokenizer.basicTokens("a" + String(s) + "b")
                var line = String(v, radix: 16) + "\t"
                line += words.map { $0.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: ",") }
                    .joined(separator: " ")
                line += "\n"
                for b in line.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            }
            let s = String(h, radix: 16)
            if String(repeating: "0", count: 16 - s.count) + s != expected[block] { differing.append(block) }
        }
        #expect(differing.isEmpty, "scalar blocks differing from the reference: \(differing)")
    }
}

import Testing
import WardenCore
import WardenTestSupport
import WordPiece

/// Warden rejects ill-formed UTF-8 with the offset of the first bad sequence.
@Suite struct UTF8Tests {
    @Test func acceptsWellFormedText() throws {
        let text = "héllo 😀 東京 \u{10FFFF}"
        #expect(try WordPieceTokenizer.decodeUTF8(Array(text.utf8)) == text)
        #expect(try WordPieceTokenizer.decodeUTF8([UInt8]()) == "")
        #expect(try WordPieceTokenizer.decodeUTF8(ArraySlice(Array("abc".utf8))) == "abc")
    }

    @Test(arguments: [
        ([0x61, 0xFF] as [UInt8], 1),  // invalid byte
        ([0x80], 0),  // stray continuation byte
        ([0xC0, 0x80], 0),  // overlong NUL
        ([0xC1, 0xBF], 0),  // overlong
        ([0xE0, 0x80, 0x80], 0),  // overlong 3-byte
        ([0xED, 0xA0, 0x80], 0),  // UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
        ([0xF5, 0x80, 0x80, 0x80], 0),
        ([0x61, 0x62, 0xE2, 0x82], 2),  // truncated at the end
        ([0xE2, 0x82, 0x61], 0),  // truncated in the middle
        ([0x68, 0x69, 0x20, 0xF0, 0x9F, 0x98, 0x80, 0xF0, 0x9F, 0x98], 7),
    ])
    func rejectsIllFormedBytes(_ bytes: [UInt8], _ offset: Int) {
        #expect(throws: InvalidUTF8Error(byteOffset: offset)) { try WordPieceTokenizer.decodeUTF8(bytes) }
        let error = InvalidUTF8Error(byteOffset: offset)
        #expect(error.description.contains("byte offset \(offset)"))
    }

    @Test func agreesWithTheStandardLibraryOnRandomBytes() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...12, using: &rng)
            let bytes = (0..<n).map { _ in
                Bool.random(using: &rng) ? UInt8.random(in: 0x80...0xFF, using: &rng) : UInt8.random(in: 0...0xFF, using: &rng)
            }
            let reference = String(validating: bytes, as: UTF8.self)
            let ours = try? WordPieceTokenizer.decodeUTF8(bytes)
            #expect(ours == reference, "\(bytes)")
        }
    }
}

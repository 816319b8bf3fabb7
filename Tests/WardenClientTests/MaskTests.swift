import Foundation
import Testing
import WardenAPI
import WardenClient
import WardenTestSupport

/// `WardenClient.mask`: highlighted spans (UTF-16 offsets) replaced by `*`, nothing else touched.
@Suite struct MaskTests {
    static func highlight(_ text: String, _ word: String) -> Highlight {
        let range = text.range(of: word)!
        let start = range.lowerBound.utf16Offset(in: text)
        return Highlight(start: start, end: start + word.utf16.count, text: word, drop: 0.5)
    }

    @Test func masksEachCharacterOfTheSpans() {
        let text = "you are an i d i o t and a clown"
        let masked = WardenClient.mask(text, highlights: [Self.highlight(text, "i d i o t"), Self.highlight(text, "clown")])
        #expect(masked == "you are an ********* and a *****")
    }

    @Test func emojiAndAccentsCountAsOneCharacter() {
        let text = "😡 caf\u{E9} id\u{0131}\u{301}ot 👨‍👩‍👧!"
        let masked = WardenClient.mask(
            text, highlights: [Self.highlight(text, "id\u{0131}\u{301}ot"), Self.highlight(text, "👨‍👩‍👧")])
        #expect(masked == "😡 caf\u{E9} ***** *!")
    }

    @Test func overlappingOutOfRangeAndMidCharacterSpans() {
        let text = "ab 😡 cd"
        #expect(
            WardenClient.mask(text, highlights: [Highlight(start: 0, end: 2, text: "ab", drop: 1), Highlight(start: 1, end: 2, text: "b", drop: 1)])
                == "** 😡 cd")
        #expect(WardenClient.mask(text, highlights: [Highlight(start: 5, end: 99, text: "", drop: 1)]) == text)
        // Offset 4 is between the two halves of the emoji's surrogate pair: not a character boundary.
        #expect(WardenClient.mask(text, highlights: [Highlight(start: 4, end: 5, text: "", drop: 1)]) == text)
        #expect(WardenClient.mask(text, highlights: []) == text)
    }

    @Test func maskedUsesOnlyFlaggedCategories() {
        let text = "you idiot spammer"
        let result = ModerationResult(
            flagged: true, categories: ["harassment": true, "spam": false], categoryScores: ["harassment": 0.9, "spam": 0.3],
            highlights: ["harassment": [Self.highlight(text, "idiot")], "spam": [Self.highlight(text, "spammer")]])
        #expect(result.masked(text) == "you ***** spammer")
    }

    @Test func aSpanSeveralCategoriesPointAtIsListedOnce() {
        let text = "you idiot"
        let idiot = Self.highlight(text, "idiot")
        var stronger = idiot
        stronger.drop = 0.8
        let result = ModerationResult(
            flagged: true, categories: ["harassment": true, "hate": true], categoryScores: ["harassment": 0.9, "hate": 0.6],
            highlights: ["harassment": [idiot], "hate": [stronger]])
        #expect(result.flaggedHighlights == [stronger])
    }
}

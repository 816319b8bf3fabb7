import Foundation
import Testing
import WordPiece

/// Explanation units map back to the original text through normalisation: every word the model sees belongs
/// to exactly one span of the original, and spans never cut a character (emoji, combining marks).
@Suite struct OcclusionUnitsTests {
    /// The UTF-16 offsets at which a character (grapheme cluster) of `text` starts, and its end.
    static func characterBoundaries(_ text: String) -> Set<Int> {
        var offsets: Set<Int> = [text.utf16.count]
        for index in text.indices { offsets.insert(text.utf16.distance(from: text.startIndex, to: index)) }
        return offsets
    }

    /// What is wrong with `units` as the units of `text`, or nil.
    static func problem(_ text: String, _ units: [TextUnit], _ normalization: TextNormalization) -> String? {
        let utf16 = Array(text.utf16)
        let boundaries = characterBoundaries(text)
        var covered = 0
        for unit in units {
            guard unit.utf16.lowerBound >= covered else { return "units overlap or are out of order at \(unit.utf16)" }
            // Between units: ASCII whitespace only.
            let gap = String(decoding: utf16[covered..<unit.utf16.lowerBound], as: UTF16.self)
            guard gap.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isWhitespace }) else { return "text \(gap.debugDescription) is in no unit" }
            guard boundaries.contains(unit.utf16.lowerBound), boundaries.contains(unit.utf16.upperBound) else {
                return "unit \(unit.utf16) cuts a character"
            }
            guard String(decoding: utf16[unit.utf16], as: UTF16.self) == unit.text, String(text[unit.range]) == unit.text else {
                return "unit \(unit.utf16) is not \(unit.text.debugDescription)"
            }
            if !unit.normalizedWords.isEmpty {
                let own = normalizeText(unit.text, normalization).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                    .map(String.init)
                guard own == unit.normalizedWords else { return "unit \(unit.text.debugDescription) normalises to \(own), not \(unit.normalizedWords)" }
            }
            covered = unit.utf16.upperBound
        }
        let tail = String(decoding: utf16[covered...], as: UTF16.self)
        guard tail.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isWhitespace }) else { return "the tail \(tail.debugDescription) is in no unit" }
        let seen = normalizeText(text, normalization).utf8.split(whereSeparator: { [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains($0) })
            .map { String(decoding: $0, as: UTF8.self) }
        let mapped = units.flatMap(\.normalizedWords)
        guard mapped == seen else { return "the units map to \(mapped), the model sees \(seen)" }
        return nil
    }

    @Test func goldenCasesMapBackThroughPlatformV2() throws {
        let cases = try NormalizationTests.cases()
        let changed = cases.filter { $0.raw != $0.normalized_v2 }
        #expect(changed.count > 500)
        var failures: [String] = []
        for item in cases {
            let units = OcclusionUnits.units(of: item.raw, normalization: .platformV2)
            if let problem = Self.problem(item.raw, units, .platformV2) { failures.append("\(item.raw.debugDescription): \(problem)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) fail, e.g. \(failures.prefix(3))")
    }

    @Test func goldenCasesMapBackThroughPlatformV1() throws {
        let failures = try NormalizationTests.cases().compactMap { item in
            Self.problem(item.raw, OcclusionUnits.units(of: item.raw, normalization: .platformV1), .platformV1)
        }
        #expect(failures.isEmpty, "\(failures.count) fail, e.g. \(failures.prefix(3))")
    }

    /// Obfuscations of one word: each is one unit whose span is the obfuscated original.
    @Test(arguments: [
        ("you are an i d i o t 😡", "i d i o t"),
        ("you are an \u{FF49}\u{FF44}\u{FF49}\u{FF4F}\u{FF54}!", "\u{FF49}\u{FF44}\u{FF49}\u{FF4F}\u{FF54}!"),
        ("you are an \u{456}d\u{456}\u{43E}t", "\u{456}d\u{456}\u{43E}t"),
        ("you are an id\u{200B}iot", "id\u{200B}iot"),
        ("you are an idiooooot", "idiooooot"),
        ("you are an 1d10t", "1d10t"),
        ("you are an i.d.i.o.t", "i.d.i.o.t"),
    ])
    func obfuscatedWordIsOneUnit(text: String, word: String) throws {
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        #expect(Self.problem(text, units, .platformV2) == nil)
        let unit = try #require(units.first { $0.text == word }, "units: \(units.map(\.text))")
        let start = try #require(text.range(of: word)).lowerBound.utf16Offset(in: text)
        #expect(unit.utf16 == start..<(start + word.utf16.count))
        #expect(units.map(\.text) == ["you", "are", "an"] + [word] + (text.hasSuffix("😡") ? ["😡"] : []))
    }

    @Test func emojiAndCombiningMarksStayWhole() {
        // e + combining acute, a family emoji (ZWJ sequence), a flag: UTF-16 offsets count surrogate pairs.
        let text = "cafe\u{301} 👨‍👩‍👧 ok 🇫🇷 idiot"
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        #expect(Self.problem(text, units, .platformV2) == nil)
        #expect(units.map(\.text) == ["cafe\u{301}", "👨‍👩‍👧", "ok", "🇫🇷", "idiot"])
        let idiot = units[4].utf16
        #expect(Array(text.utf16)[idiot].count == 5)
        #expect(String(decoding: Array(text.utf16)[idiot], as: UTF16.self) == "idiot")
        #expect(idiot.lowerBound == 5 + 1 + 8 + 1 + 2 + 1 + 4 + 1)
    }

    @Test func retweetMarkersAreUnitsTheModelDoesNotSee() {
        let text = "RT @bob: you idiot"
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        #expect(Self.problem(text, units, .platformV2) == nil)
        #expect(units.map(\.text) == ["RT", "@bob:", "you", "idiot"])
        #expect(units.map(\.normalizedWords) == [[], [], ["you"], ["idiot"]])
    }

    @Test func removingAUnitKeepsTheRest() {
        let text = "you are an i d i o t 😡"
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        let idiot = units.first { $0.text == "i d i o t" }!
        #expect(OcclusionUnits.removing(idiot, from: text) == "you are an  😡")
        #expect(OcclusionUnits.units(of: "   ", normalization: .platformV2).isEmpty)
    }

    /// Past ``OcclusionUnits/maxMappedWords`` a text's units are its words, each normalised on its own (such a
    /// text is explained by runs of many words anyway): the spans stay exact and the work linear in the text.
    /// Retweet markers, which the normaliser removes, before a spaced-out word are the costliest input of the
    /// join mapping; the time limit catches a return to trying every run of them at every word.
    @Test(.timeLimit(.minutes(1))) func veryLongTextsHaveTheirWordsAsUnits() throws {
        let markers = 10 * OcclusionUnits.maxMappedWords
        let text = Array(repeating: "RT @x:", count: markers).joined(separator: " ") + " i d i o t"
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        #expect(units.count == 2 * markers + 5)
        #expect(Set(units.prefix(2 * markers).map(\.text)) == ["RT", "@x:"])
        let last = try #require(units.last)
        #expect(last.text == "t" && last.utf16 == (text.utf16.count - 1)..<text.utf16.count)
    }

    /// Under that limit, a long run of removed units still maps: the word after it is found on its own.
    @Test(.timeLimit(.minutes(1))) func aLongRunOfRemovedUnitsBeforeAWordMaps() {
        let text = Array(repeating: "RT @x:", count: OcclusionUnits.maxMappedWords / 2 - 4).joined(separator: " ") + " you i d i o t"
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        #expect(Self.problem(text, units, .platformV2) == nil)
        #expect(units.suffix(2).map(\.text) == ["you", "i d i o t"])
    }

    @Test func longTextsAreGroupedIntoAtMostTheLimit() {
        let text = (1...10).map { "w\($0)" }.joined(separator: " ") + " 😡"
        let units = OcclusionUnits.units(of: text, normalization: .platformV2)
        #expect(units.count == 11)
        let grouped = OcclusionUnits.grouped(units, of: text, atMost: 4)
        #expect(grouped.map(\.text) == ["w1 w2 w3", "w4 w5 w6", "w7 w8 w9", "w10 😡"])
        #expect(Self.problem(text, grouped, .platformV2) == nil)
        #expect(OcclusionUnits.grouped(units, of: text, atMost: 11) == units)
    }
}

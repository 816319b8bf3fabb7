/// One word of a text as a reader sees it, for explanations: the part of the ORIGINAL text that, once
/// normalised, became one or more of the words the model saw.
public struct TextUnit: Sendable, Hashable {
    /// The unit in the original string.
    public var range: Range<String.Index>
    /// The unit's text, as in the original.
    public var text: String
    /// The same span as UTF-16 code-unit offsets `[start, end)`: what JavaScript's `String.slice` and
    /// `NSString`/`NSRange` count, so a web page can use them as they are.
    public var utf16: Range<Int>
    /// The words the model saw for this unit (after normalisation), in order; empty when normalisation
    /// removed it (a retweet marker).
    public var normalizedWords: [String]

    public init(range: Range<String.Index>, text: String, utf16: Range<Int>, normalizedWords: [String]) {
        self.range = range
        self.text = text
        self.utf16 = utf16
        self.normalizedWords = normalizedWords
    }
}

/// Splits a text into the units an explanation occludes, and maps them through normalisation.
///
/// A unit is a run of characters between ASCII whitespace (whole grapheme clusters: an emoji sequence or a
/// letter with combining marks is never cut), except that units the normalisation joins into one word
/// (spaced-out letters, `i d i o t` → `idiot`) are one unit. The join is read from the normaliser's own
/// output, so it holds for every rule: the normalised text's words are matched, in order, to the
/// normalised units.
public enum OcclusionUnits {
    /// The units of `text` under `normalization`, in text order.
    public static func units(of text: String, normalization: TextNormalization) -> [TextUnit] {
        let words = wordRanges(of: text)
        // A text this long is explained by runs of many words anyway (``grouped(_:of:atMost:)``): its units are
        // its words, each mapped on its own, which keeps the work linear in the text.
        guard words.count <= maxMappedWords else {
            return words.map { unit(text, $0, normalizedWords(String(text[$0]), normalization)) }
        }
        let normalizedUnits = words.map { normalizedWords(String(text[$0]), normalization) }
        let seen = normalizedWords(text, normalization)
        func matches(_ candidate: [String], at next: Int) -> Bool {
            !candidate.isEmpty && next + candidate.count <= seen.count && seen[next..<next + candidate.count].elementsEqual(candidate)
        }
        var units: [TextUnit] = []
        units.reserveCapacity(words.count)
        var next = 0  // the first word of `seen` not yet matched
        var removedRun: (unit: Int, word: Int)?  // the units just before that the model did not see
        var i = 0
        while i < words.count {
            let own = normalizedUnits[i]
            if matches(own, at: next) {
                units.append(unit(text, words[i], own))
                next += own.count
                i += 1
                removedRun = nil
                continue
            }
            // Units the normaliser joined into one word (spaced-out letters): the longest run from here
            // that normalises, as a whole, to the next word.
            if own.count == 1, next < seen.count, seen[next].first == own[0].first {
                var longest: Int?
                var last = i + 1
                while last < words.count, last - i < maxJoinedUnits {
                    let joined = normalizedWords(String(text[words[i].lowerBound..<words[last].upperBound]), normalization)
                    if joined.count == 1 && joined[0] == seen[next] {
                        longest = last
                    } else if joined.count > 1 {
                        break
                    }
                    last += 1
                }
                if let longest {
                    units.append(unit(text, words[i].lowerBound..<words[longest].upperBound, [seen[next]]))
                    next += 1
                    i = longest + 1
                    removedRun = nil
                    continue
                }
            }
            // A rule that reached across from units the model did not see (a retweet marker ending inside
            // this unit): those units and this one are one unit.
            if let run = removedRun {
                // At most the last ``maxReachedAcross`` removed units are tried (a joined word is no longer): a
                // whole run tried at every unit would make a long run of removed units quadratic.
                let first = max(run.word, i - maxReachedAcross)
                let together = normalizedWords(String(text[words[first].lowerBound..<words[i].upperBound]), normalization)
                if matches(together, at: next) {
                    // Each removed word of the run is one unit, so word `first` is unit `run.unit + first - run.word`.
                    units.removeLast(units.count - (run.unit + first - run.word))
                    units.append(unit(text, words[first].lowerBound..<words[i].upperBound, together))
                    next += together.count
                    i += 1
                    removedRun = nil
                    continue
                }
            }
            // Removed by the normaliser: a unit the model did not see as such.
            if removedRun == nil { removedRun = (units.count, i) }
            units.append(unit(text, words[i], []))
            i += 1
        }
        return units
    }

    /// The longest run of units tried as one joined word.
    static let maxJoinedUnits = 256
    /// The most removed units (just before a unit) tried together with it, for a rule that reached across them
    /// or joined them (spaced-out homoglyphs).
    static let maxReachedAcross = maxJoinedUnits
    /// Texts of more words have their words as units, without the join mapping (see ``units(of:normalization:)``).
    public static let maxMappedWords = 2048

    /// `units` (of `text`) in runs of neighbours, so that there are at most `limit` of them; unchanged when
    /// there are that few already. A run's span covers its units and the spaces between them.
    public static func grouped(_ units: [TextUnit], of text: String, atMost limit: Int) -> [TextUnit] {
        guard limit > 0, units.count > limit else { return units }
        let size = (units.count + limit - 1) / limit
        return stride(from: 0, to: units.count, by: size).map { first in
            let last = min(first + size, units.count) - 1
            let range = units[first].range.lowerBound..<units[last].range.upperBound
            return TextUnit(
                range: range, text: String(text[range]), utf16: units[first].utf16.lowerBound..<units[last].utf16.upperBound,
                normalizedWords: units[first...last].flatMap(\.normalizedWords))
        }
    }

    /// `text` without `unit`: what the model scores to learn how much the unit mattered.
    public static func removing(_ unit: TextUnit, from text: String) -> String {
        String(text[..<unit.range.lowerBound]) + String(text[unit.range.upperBound...])
    }

    /// Whether a character is ASCII whitespace, the only separator the normalisation rules know.
    static func isSeparator(_ character: Character) -> Bool {
        character.unicodeScalars.allSatisfy { $0.isASCII && PlatformV1.isSpace(UInt8($0.value)) }
    }

    /// The maximal runs of characters that are not ASCII whitespace.
    static func wordRanges(of text: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var start: String.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if isSeparator(text[index]) {
                if let begin = start { ranges.append(begin..<index) }
                start = nil
            } else if start == nil {
                start = index
            }
            index = next
        }
        if let begin = start { ranges.append(begin..<text.endIndex) }
        return ranges
    }

    /// The whitespace-separated words of `text` once normalised.
    static func normalizedWords(_ text: String, _ normalization: TextNormalization) -> [String] {
        normalizeText(text, normalization).utf8.split(whereSeparator: PlatformV1.isSpace).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func unit(_ text: String, _ range: Range<String.Index>, _ words: [String]) -> TextUnit {
        let start = text.utf16.distance(from: text.startIndex, to: range.lowerBound)
        let length = text.utf16.distance(from: range.lowerBound, to: range.upperBound)
        return TextUnit(range: range, text: String(text[range]), utf16: start..<(start + length), normalizedWords: words)
    }
}

import WardenAPI

extension WardenClient {
    /// `text` with every character inside `highlights` replaced by `mask`; the rest, spacing included, as it was.
    ///
    /// Highlights are `[start, end)` UTF-16 offsets of `text` (as Warden sends them); overlapping spans are
    /// masked once, and a span outside `text` or inside a character is ignored rather than cutting it.
    public static func mask(_ text: String, highlights: [Highlight], with mask: Character = "*") -> String {
        let utf16 = text.utf16
        var ranges: [Range<String.Index>] = []
        for highlight in highlights where 0 <= highlight.start && highlight.start < highlight.end && highlight.end <= utf16.count {
            let start = utf16.index(utf16.startIndex, offsetBy: highlight.start)
            let end = utf16.index(utf16.startIndex, offsetBy: highlight.end)
            guard let lower = start.samePosition(in: text), let upper = end.samePosition(in: text) else { continue }
            ranges.append(lower..<upper)
        }
        guard !ranges.isEmpty else { return text }
        var masked = ""
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            masked.append(ranges.contains { $0.contains(index) } ? mask : text[index])
            index = next
        }
        return masked
    }
}

extension ModerationResult {
    /// The highlights of every flagged category (``highlights``, asked for with `explain`), in text order; a
    /// span several categories point at is listed once, with its largest drop.
    public var flaggedHighlights: [Highlight] {
        var bySpan: [Range<Int>: Highlight] = [:]
        for highlight in (highlights ?? [:]).filter({ categories[$0.key] == true }).flatMap(\.value) {
            let span = highlight.start..<highlight.end
            if bySpan[span].map({ $0.drop < highlight.drop }) ?? true { bySpan[span] = highlight }
        }
        return bySpan.values.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
    }

    /// `text` (the text this result is for) with the spans that made it flagged replaced by `*`.
    public func masked(_ text: String) -> String { WardenClient.mask(text, highlights: flaggedHighlights) }
}

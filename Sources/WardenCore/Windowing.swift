/// Splitting of long texts into model inputs and merging of their scores (``LongTextPolicy``).
enum Windowing {
    struct Split: Equatable {
        /// Model inputs, each `[CLS] … [SEP]` of at most `maxSequenceLength` tokens.
        var sequences: [[Int32]]
        /// Whether some word pieces were not scored.
        var truncated: Bool
    }

    /// Turns the word pieces of one text into model inputs.
    ///
    /// With `.windows(overlap:)`, a text of `n > w` word pieces (`w = maxSequenceLength - 2`) needs
    /// `ceil((n - w) / (w - overlap)) + 1` windows; their starts are spread evenly from 0 to `n - w`, so the
    /// first and last word pieces are always covered and consecutive windows share at least `overlap`
    /// pieces: every word piece is scored. If more than `maxWindows` would be needed, `maxWindows` windows
    /// cover the text from its start without gaps (`w + (maxWindows - 1) × (w - overlap)` word pieces), the
    /// rest is not scored, and the split is `truncated`. Windows are never spread with gaps between them: a
    /// gap is a place where abuse goes unseen.
    static func split(
        _ ids: [Int32], maxSequenceLength: Int, policy: LongTextPolicy, maxWindows: Int,
        cls: Int32, sep: Int32
    ) -> Split {
        let width = maxSequenceLength - 2
        func wrap(_ slice: ArraySlice<Int32>) -> [Int32] {
            var sequence: [Int32] = []
            sequence.reserveCapacity(slice.count + 2)
            sequence.append(cls)
            sequence.append(contentsOf: slice)
            sequence.append(sep)
            return sequence
        }
        guard ids.count > width else { return Split(sequences: [wrap(ids[...])], truncated: false) }
        switch policy {
        case .truncate:
            return Split(sequences: [wrap(ids[0..<width])], truncated: true)
        case .windows(let overlap):
            let stride = width - overlap
            let span = ids.count - width
            let needed = (span + stride - 1) / stride + 1
            guard needed <= maxWindows else {
                let sequences = (0..<maxWindows).map { i in wrap(ids[(i * stride)..<(i * stride + width)]) }
                return Split(sequences: sequences, truncated: true)
            }
            let sequences = (0..<needed).map { i in
                let start = i * span / (needed - 1)
                return wrap(ids[start..<(start + width)])
            }
            return Split(sequences: sequences, truncated: false)
        }
    }

    /// The per-label maximum over the windows of one text.
    static func merge<Rows: Collection>(_ rows: Rows) -> [Float] where Rows.Element == [Float] {
        guard var merged = rows.first else { return [] }
        for row in rows.dropFirst() {
            for (label, score) in row.enumerated() where score > merged[label] { merged[label] = score }
        }
        return merged
    }
}

import WordPiece

extension Moderator {
    /// How much each word of one text mattered: the text's units (``TextUnit``, spans of the original text)
    /// and, per unit and label, how far the label's score fell when the unit was taken out.
    public struct Explanation: Sendable {
        /// The text's units, in text order.
        public var units: [TextUnit]
        /// `drops[unit][label]`: the text's score minus the score without the unit (negative when the
        /// score rose). A unit whose removal leaves nothing to score counts as a fall to 0.
        public var drops: [[Float]]

        public init(units: [TextUnit], drops: [[Float]]) {
            self.units = units
            self.drops = drops
        }

        /// The units that raised `label` the most, biggest fall first: those whose removal lowered its score
        /// by at least `minimumDrop` and by at least `minimumShare` of `score`, at most `limit` of them.
        public func highlights(label: Int, score: Float, limit: Int = 5, minimumDrop: Float = 0.02, minimumShare: Float = 0.1)
            -> [(unit: TextUnit, drop: Float)]
        {
            let floor = max(minimumDrop, minimumShare * score)
            let kept = zip(units, drops).map { ($0, $1[label]) }.filter { $0.1 >= floor }
            return Array(kept.sorted { $0.1 > $1.1 }.prefix(limit)).map { (unit: $0.0, drop: $0.1) }
        }
    }

    /// Explains `texts` by occlusion over words: each text is scored again once per unit with that unit taken
    /// out, and the fall of each label's score is the unit's weight.
    ///
    /// Every variant of every text goes to the batcher in one ``moderate(_:options:)`` call, so they are
    /// admitted together and packed into as few forwards as their length allows.
    /// - Parameters:
    ///   - texts: the original texts.
    ///   - scores: the texts' own scores (from a ``moderate(_:options:)`` call), in label order.
    ///   - options: lane and deadline for the variants (thresholds play no part).
    /// - Throws: the errors of ``moderate(_:options:)``.
    public func explain(_ texts: [String], scores: [[Float]], options: Moderator.Options = Moderator.Options()) async throws(ModerationError)
        -> [Explanation]
    {
        precondition(texts.count == scores.count, "one score row per text")
        var units: [[TextUnit]] = []
        var variants: [String] = []
        var variantOf: [[Int?]] = []  // per text, per unit: the variant's index, nil when nothing is left to score
        for text in texts {
            let textUnits = OcclusionUnits.units(of: text, normalization: textNormalization)
            units.append(textUnits)
            variantOf.append(
                textUnits.map { unit in
                    let variant = OcclusionUnits.removing(unit, from: text)
                    guard !tokenizer.wordPieceIDs(normalizeText(variant, textNormalization)).isEmpty else { return nil }
                    variants.append(variant)
                    return variants.count - 1
                })
        }
        var variantScores: [[Float]] = []
        if !variants.isEmpty {
            var variantOptions = options
            variantOptions.thresholds = [:]
            variantScores = try await moderate(variants, options: variantOptions).results.map(\.scores)
        }
        return texts.indices.map { t in
            let drops = variantOf[t].map { variant in
                let without = variant.map { variantScores[$0] } ?? Array(repeating: 0, count: labels.count)
                return zip(scores[t], without).map { $0 - $1 }
            }
            return Explanation(units: units[t], drops: drops)
        }
    }
}

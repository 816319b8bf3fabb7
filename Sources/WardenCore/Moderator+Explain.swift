import Foundation
import WordPiece

extension Moderator {
    /// How much each word of one text mattered: the text's units (``TextUnit``, spans of the original text),
    /// the text's scores, and its scores with each unit taken out.
    public struct Explanation: Sendable {
        /// The text's units, in text order.
        public var units: [TextUnit]
        /// The text's own scores, in label order.
        public var scores: [Float]
        /// `without[unit][label]`: the score with the unit taken out. A unit whose removal leaves nothing to
        /// score counts as a fall to 0.
        public var without: [[Float]]

        public init(units: [TextUnit], scores: [Float], without: [[Float]]) {
            self.units = units
            self.scores = scores
            self.without = without
        }

        /// How far `label`'s score fell when `unit` was taken out (negative when it rose).
        public func drop(unit: Int, label: Int) -> Float { scores[label] - without[unit][label] }

        /// The same fall in log-odds: it tells words apart also where the score is near 0 or 1 and a single
        /// word moves it little (two insults in one text, each enough on its own).
        public func logitDrop(unit: Int, label: Int) -> Float { Self.logit(scores[label]) - Self.logit(without[unit][label]) }

        /// The units that raised `label` the most, biggest first: those whose removal lowered its log-odds by
        /// at least `minimumLogitDrop` and by at least `minimumShare` of the largest such fall, at most `limit`.
        public func highlights(label: Int, limit: Int = 5, minimumLogitDrop: Float = 0.3, minimumShare: Float = 0.4)
            -> [(unit: TextUnit, drop: Float)]
        {
            let falls = units.indices.map { ($0, logitDrop(unit: $0, label: label)) }
            guard let largest = falls.map(\.1).max() else { return [] }
            let floor = max(minimumLogitDrop, minimumShare * largest)
            return falls.filter { $0.1 >= floor }.sorted { $0.1 > $1.1 }.prefix(limit).map { (unit: units[$0.0], drop: drop(unit: $0.0, label: label)) }
        }

        /// Log-odds of `p`, clamped so that 0 and 1 stay finite.
        static func logit(_ p: Float) -> Float {
            let clamped = min(max(p, 1e-6), 1 - 1e-6)
            return log(clamped / (1 - clamped))
        }
    }

    /// Most units one text is explained by: a longer text's words are taken out in runs of several, so that
    /// its explanation costs at most this many scorings.
    public static let maxExplainedUnits = 128

    /// Explains `texts` by occlusion over words: each text is scored again once per unit with that unit taken
    /// out, and the fall of each label's score is the unit's weight.
    ///
    /// A text of more than ``maxExplainedUnits`` words is explained by runs of neighbouring words. Every variant
    /// costs about what its text costs, and the variants of all `texts` must fit one bulk request (its lane's
    /// per-request tokens and the queue's items, shared equally by the texts): a text too long for that many
    /// variants is explained by fewer, longer runs (at least one).
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
        let shares = texts.isEmpty ? (tokens: 0, items: 0) : variantBudget(perTextOf: texts.count)
        for text in texts {
            let textUnits = OcclusionUnits.grouped(
                OcclusionUnits.units(of: text, normalization: textNormalization), of: text, atMost: explainedUnits(text, within: shares))
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
            // The variants cost about one scoring per unit: they take the lane their cost fits unless the
            // caller chose bulk (an interactive request's variants may not fit its per-request cap).
            if variantOptions.lane != .bulk { variantOptions.lane = nil }
            variantScores = try await moderate(variants, options: variantOptions).results.map(\.scores)
        }
        return texts.indices.map { t in
            let without = variantOf[t].map { variant in variant.map { variantScores[$0] } ?? Array(repeating: 0, count: labels.count) }
            return Explanation(units: units[t], scores: scores[t], without: without)
        }
    }

    /// Each of `count` texts' share of one bulk request: the tokens its variants may take together, and their
    /// model inputs.
    func variantBudget(perTextOf count: Int) -> (tokens: Int, items: Int) {
        let lanes = batcher.configuration
        let tokens = min(lanes.maxQueuedTokens, lanes.bulk.maxRequestTokens)
        return (tokens / count, lanes.maxQueuedItems / count)
    }

    /// How many units `text` may be explained by: ``maxExplainedUnits``, or as many variants of it as fit
    /// `share` (each variant costing the text's own model inputs), at least one.
    func explainedUnits(_ text: String, within share: (tokens: Int, items: Int)) -> Int {
        let pieces = tokenizer.wordPieceIDs(normalizeText(text, textNormalization))
        guard !pieces.isEmpty else { return Self.maxExplainedUnits }
        let split = Windowing.split(
            pieces, maxSequenceLength: maxSequenceLength, policy: configuration.longTextPolicy,
            maxWindows: configuration.maxWindowsPerText, cls: tokenizer.clsID, sep: tokenizer.sepID)
        let tokens = split.sequences.reduce(0) { $0 + $1.count }
        let fitting = min(share.tokens / max(tokens, 1), share.items / max(split.sequences.count, 1))
        return max(1, min(Self.maxExplainedUnits, fitting))
    }
}

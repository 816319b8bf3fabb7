import Testing
import WardenCore
import WordPiece

/// Which units an explanation keeps: ranked by the fall of the log-odds, so that words still stand apart
/// when the score is near 1.
@Suite struct ExplanationTests {
    static func explanation(_ text: String, score: Float, without: [Float]) -> Moderator.Explanation {
        let units = OcclusionUnits.units(of: text, normalization: .none)
        return Moderator.Explanation(units: units, scores: [score], without: without.map { [$0] })
    }

    @Test func saturatedScoresStillRankTheInsultFirst() {
        // Two insults, each enough on its own: taking one out moves the probability by little.
        let explanation = Self.explanation("you stupid idiot", score: 0.9972, without: [0.9960, 0.9900, 0.9820])
        let kept = explanation.highlights(label: 0)
        #expect(kept.map(\.unit.text) == ["idiot", "stupid"])
        #expect(abs(kept[0].drop - (0.9972 - 0.9820)) < 1e-6)
    }

    @Test func noiseIsDropped() {
        // Falls of under 0.3 in log-odds (and a rise) are not highlights.
        let explanation = Self.explanation("have a nice day", score: 0.30, without: [0.29, 0.31, 0.28, 0.30])
        #expect(explanation.highlights(label: 0).isEmpty)
        #expect(explanation.drop(unit: 1, label: 0) < 0)
    }

    @Test func atMostTheLimitBiggestFirst() {
        let explanation = Self.explanation("a b c d", score: 0.9, without: [0.1, 0.2, 0.05, 0.3])
        #expect(explanation.highlights(label: 0, limit: 2).map(\.unit.text) == ["c", "a"])
        // A unit whose removal left nothing to score counts as a fall to 0: the largest fall there is.
        #expect(Self.explanation("idiot", score: 0.8, without: [0]).highlights(label: 0).map(\.unit.text) == ["idiot"])
    }
}

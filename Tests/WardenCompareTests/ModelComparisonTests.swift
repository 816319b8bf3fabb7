import Foundation
import Testing
import WardenCompare
import WardenCore

@Suite struct ModelComparisonTests {
    /// A former model: `toxic` (declaring OpenAI's harassment), `hate`, `spam`.
    let older = ModelBundle(
        name: "old", version: "2.0.0", labels: ["toxic", "hate", "spam"], thresholds: [0.5, 0.5, 0.5], maxSequenceLength: 128,
        openAICategories: ["toxic": "harassment", "hate": "hate"])
    /// Its successor: `toxic` renamed `harassment` (a former name), `violence` new, `spam` dropped.
    let newer = ModelBundle(
        name: "new", version: "3.0.0", labels: ["harassment", "hate", "violence"], thresholds: [0.5, 0.5, 0.5], maxSequenceLength: 128,
        openAICategories: ["harassment": "harassment", "hate": "hate", "violence": "violence"], labelAliases: ["toxic": "harassment"])

    func model(_ bundle: ModelBundle) -> ModelComparison.Model {
        .init(name: bundle.name, version: bundle.version, directory: "/models/\(bundle.name)", labels: bundle.labels)
    }

    func record(_ number: Int, _ scores: [String: Double], text: String? = nil) -> ScoredRecord {
        let flags = scores.mapValues { $0 >= 0.5 }
        return ScoredRecord(record: number, text: text ?? "text \(number)", scores: scores, flags: flags, flagged: flags.values.contains(true))
    }

    @Test func sharedCategoriesFollowFormerNamesAndOpenAICategories() {
        let pairs = older.sharedCategories(with: newer)
        #expect(pairs.map { "\($0.a)>\($0.b)" } == ["toxic>harassment", "hate>hate"], "spam and violence have no counterpart")
        let reversed = newer.sharedCategories(with: older)
        #expect(reversed.map { "\($0.a)>\($0.b)" } == ["harassment>toxic", "hate>hate"])
    }

    @Test func ratesAgreementAndTheLargestDisagreementsFirst() throws {
        let a = [
            1: record(1, ["toxic": 0.9, "hate": 0.1, "spam": 0.0]),
            2: record(2, ["toxic": 0.2, "hate": 0.6, "spam": 0.0]),
            3: record(3, ["toxic": 0.4, "hate": 0.1, "spam": 0.9]),
            4: record(4, ["toxic": 0.1, "hate": 0.1, "spam": 0.0]),
        ]
        let b = [
            1: record(1, ["harassment": 0.8, "hate": 0.1, "violence": 0.0]),
            2: record(2, ["harassment": 0.7, "hate": 0.3, "violence": 0.0]),
            3: record(3, ["harassment": 0.45, "hate": 0.1, "violence": 0.0]),
            // record 4: not scored by B (an error record)
        ]
        let comparison = try ModelComparison(
            modelA: model(older), modelB: model(newer), a: (a, 0), b: (b, 1), categories: older.sharedCategories(with: newer), top: 10)
        #expect(comparison.records == 3 && comparison.unscored == 2, "record 4 is left out; B's output had one error record")
        let harassment = try #require(comparison.categories.first)
        #expect(harassment.name == "toxic → harassment")
        #expect(abs(harassment.flagRateA - 1.0 / 3) < 1e-12 && abs(harassment.flagRateB - 2.0 / 3) < 1e-12)
        #expect(harassment.onlyA == 0 && harassment.onlyB == 1 && abs(harassment.agreement - 2.0 / 3) < 1e-12)
        #expect(abs(harassment.meanAbsoluteDifference - (0.1 + 0.5 + 0.05) / 3) < 1e-12 && abs(harassment.maxAbsoluteDifference - 0.5) < 1e-12)
        let hate = comparison.categories[1]
        #expect(hate.onlyA == 1 && hate.onlyB == 0)
        #expect(comparison.disagreementCount == 2)
        #expect(comparison.disagreements.map(\.record) == [2, 2], "both disagreements are record 2's")
        #expect(comparison.disagreements.map(\.category) == ["toxic → harassment", "hate"], "the larger difference (0.5) first")
        #expect(abs(comparison.flaggedAgreement - 2.0 / 3) < 1e-12, "record 3: A flags spam, which B does not score")
        let table = comparison.table
        #expect(table.contains("toxic → harassment") && table.contains("decisions that differ: 2"))
        let decoded = try JSONDecoder().decode(ModelComparison.self, from: try comparison.json())
        #expect(decoded == comparison)
        let cut = try ModelComparison(
            modelA: model(older), modelB: model(newer), a: (a, 0), b: (b, 0), categories: older.sharedCategories(with: newer), top: 1)
        #expect(cut.disagreements.count == 1 && cut.disagreementCount == 2)
    }

    @Test func modelsWithNothingInCommonAreRefused() {
        let other = ModelBundle(name: "spam-only", labels: ["spam"], thresholds: [0.5], maxSequenceLength: 128)
        let error = #expect(throws: ComparisonError.self) {
            try ModelComparison(
                modelA: model(newer), modelB: model(other), a: ([:], 0), b: ([:], 0),
                categories: newer.sharedCategories(with: other), top: 5)
        }
        #expect(error?.description.contains("share no category") == true)
    }

    @Test func readsScoringOutputsAndCountsErrorRecords() throws {
        let lines = """
            {"record":1,"line":1,"id":"m-1","text":"hi","scores":{"hate":0.25},"flags":{"hate":false},"flagged":false,"truncated":false}
            {"record":2,"line":2,"error":{"code":"empty_text","message":"empty"}}
            {"record":3,"line":3,"id":7,"scores":{"hate":0.75},"flags":{"hate":true},"flagged":true,"truncated":false}

            """
        let (records, unscored) = try ScoredRecord.read(jsonLines: Data(lines.utf8))
        #expect(unscored == 1 && records.count == 2)
        #expect(records[1] == ScoredRecord(record: 1, id: "m-1", text: "hi", scores: ["hate": 0.25], flags: ["hate": false], flagged: false))
        #expect(records[3]?.id == "7" && records[3]?.flagged == true)
        #expect(throws: ComparisonError.self) { try ScoredRecord.read(jsonLines: Data("[1, 2]\n".utf8)) }
    }

    @Test func scoresCSVHoldsEveryRecordPerCategory() {
        let a = [1: record(1, ["toxic": 0.9, "hate": 0.1]), 2: record(2, ["toxic": 0.2, "hate": 0.6])]
        let b = [1: record(1, ["harassment": 0.8, "hate": 0.1]), 2: record(2, ["harassment": 0.7, "hate": 0.3])]
        let csv = ModelComparison.scoresCSV(
            a: a, b: b, categories: [("toxic", "harassment"), ("hate", "hate")], thresholdsA: ["toxic": 0.4], thresholdsB: [:])
        let lines = csv.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[1] == "toxic → harassment,1,0.9,0.8,0.4,0.5")
    }
}

import Foundation
import Logging
import Testing
import WardenCore
import WardenScore
import WardenTestSupport

/// A whole scoring run as `warden score` starts it: formats from the paths, the job fitted to the engine, the
/// output written only by a finished run, and what is refused before the model loads.
@Suite("Scoring runs", .timeLimit(.minutes(2)))
struct ScoreRunTests {
    static let logger = Logger(label: "warden.score.tests")

    @Test("formats follow the paths: text and JSON Lines by default, CSV and JSON Lines by extension")
    func formatsFromPaths() {
        let piped = ScoreRun(input: "-", output: "-")
        #expect(piped.reader.format == .text && piped.outputFormat == .jsonl)
        let files = ScoreRun(input: "chat.jsonl.gz", output: "scores.csv")
        #expect(files.reader.format == .jsonl && files.outputFormat == .csv)
        #expect(ScoreRun(input: "chat.csv", output: "out", inputFormat: .text, outputFormat: .jsonl).reader.format == .text)
    }

    @Test("a run scores every record into the output and summarises it; thresholds override the model's")
    func scoresAndSummarises() async throws {
        let folder = try TempFolder()
        let input = try folder.write("in.txt", "hello world\nbad w1\nw2 w3 w4\n")
        var run = ScoreRun(input: input, output: folder.path("out.jsonl"))
        run.includeText = true
        run.thresholds = ["long": 0.01]
        let engine = try Engine()
        let summary = try await run.run(model: "words", logger: Self.logger) { engine.service }
        #expect(summary.tally.records == 3 && summary.tally.failed == 0 && summary.exitCode == 0)
        let written = try Written.read(folder.path("out.jsonl"))
        #expect(written.map(\.record) == [1, 2, 3])
        #expect(written.allSatisfy { $0.flagged == true }, "every text is longer than the lowered threshold")
        #expect(!FileManager.default.fileExists(atPath: folder.path("out.jsonl.partial")))
    }

    @Test("the job is fitted to the engine: groups of two batches, a window of at least a group, a reorder slack of windows")
    func jobFittedToEngine() async throws {
        let folder = try TempFolder()
        let input = try folder.write("in.txt", (1...40).map { "w\($0)" }.joined(separator: "\n") + "\n")
        var run = ScoreRun(input: input, output: folder.path("out.jsonl"))
        run.job.window = 1
        let engine = try Engine(maxBatchSize: 4)
        let summary = try await run.run(model: "words", logger: Self.logger) { engine.service }
        #expect(summary.tally.records == 40 && summary.exitCode == 0)
        #expect(ScoreRun.groupBatches == 2 && ScoreRun.reorderWindows == 8)
    }

    @Test("thresholds are label=x items with x between 0 and 1")
    func thresholdItems() throws {
        #expect(try ScoreRun.thresholds(["toxic=0.2", "spam=1"]) == ["toxic": 0.2, "spam": 1])
        for bad in ["toxic", "=0.5", "toxic=1.5", "toxic=nan", "toxic=x"] {
            #expect(throws: ScoreRunError.self, "\(bad)") { try ScoreRun.thresholds([bad]) }
        }
    }

    @Test("a threshold may name a label, its OpenAI category or a former name; an unknown name is refused with the labels")
    func thresholdNames() throws {
        let bundle = ModelBundle(
            name: "renamed", labels: ["harassment", "spam"], thresholds: [0.5, 0.5], maxSequenceLength: 8,
            openAICategories: ["harassment": "harassment/threatening"], labelAliases: ["toxic": "harassment"])
        #expect(try ScoreRun.resolve(["toxic": 0.2, "spam": 1], in: bundle) == ["harassment": 0.2, "spam": 1])
        #expect(try ScoreRun.resolve(["harassment/threatening": 0.3], in: bundle) == ["harassment": 0.3])
        let error = #expect(throws: ScoreRunError.self) { try ScoreRun.resolve(["rudeness": 0.5], in: bundle) }
        #expect(error?.description == "--threshold: unknown label \"rudeness\"; the model's labels are harassment, spam")
    }

    @Test("an unknown threshold label and an output that is the input are refused, leaving no file behind")
    func refusals() async throws {
        let folder = try TempFolder()
        let input = try folder.write("in.txt", "hello\n")
        var unknown = ScoreRun(input: input, output: folder.path("out.jsonl"))
        unknown.thresholds = ["nope": 0.5]
        let engine = try Engine()
        let error = await #expect(throws: ScoreRunError.self) { try await unknown.run(model: "words", logger: Self.logger) { engine.service } }
        #expect(error?.description.contains("unknown label \"nope\"") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["in.txt"])

        var engineBuilt = false
        let sameFile = ScoreRun(input: input, output: input)
        await #expect(throws: ScoreRunError.self) {
            try await sameFile.run(model: "words", logger: Self.logger) {
                engineBuilt = true
                return engine.service
            }
        }
        #expect(!engineBuilt, "the output is checked before the model loads")
    }
}

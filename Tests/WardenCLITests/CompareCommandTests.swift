import Foundation
import Testing
import WardenTestSupport

/// `warden compare` as a process: two fixture models (random weights, the same labels) score one file.
@Suite("warden compare (process level)", .serialized, .timeLimit(.minutes(3)))
struct CompareCommandTests {
    static let modelA = CLI.model
    static let modelB = CLI.fixtures.appendingPathComponent("tiny-bert-packed").path

    /// Twelve messages, one of them empty (an error record for both models).
    static func input(in tmp: borrowing TempFolder) throws -> String {
        let texts = (1...11).map { "message number \($0) about the game tonight" } + [""]
        return try tmp.write("in.txt", texts.joined(separator: "\n") + "\n")
    }

    @Test("the table names both models and every shared category; --json holds the same report")
    func tableAndJSON() async throws {
        let tmp = try TempFolder()
        let input = try Self.input(in: tmp)
        let json = tmp.path("report.json")
        let outcome = try await CLI.run(["compare", Self.modelA, Self.modelB, input, "--json", json, "-q"], in: tmp.url, limit: .seconds(120))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        for text in ["A: tiny-bert", "B: tiny-bert-packed", "records compared: 11 (1 left out", "toxic", "hate", "spam", "decisions that differ"] {
            #expect(outcome.stdoutText.contains(text), "\(text) in:\n\(outcome.stdoutText)")
        }
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect(report["records"] as? Int == 11)
        let categories = try #require(report["categories"] as? [[String: Any]])
        #expect(categories.compactMap { $0["labelA"] as? String } == ["toxic", "hate", "spam"])
        for category in categories {
            let agreement = try #require(category["agreement"] as? Double)
            let only = (category["onlyA"] as? Int ?? -1) + (category["onlyB"] as? Int ?? -1)
            #expect(abs(agreement - Double(11 - only) / 11) < 1e-9, "agreement and the one-sided flags add up")
        }
    }

    @Test("--png draws the chart (python3-matplotlib): a PNG file with a panel per category")
    func chart() async throws {
        let tmp = try TempFolder()
        let input = try Self.input(in: tmp)
        let png = tmp.path("chart.png")
        let outcome = try await CLI.run(["compare", Self.modelA, Self.modelB, input, "--png", png, "-q"], in: tmp.url, limit: .seconds(120))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("wrote \(png)"), "\(outcome.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "a PNG signature")
        #expect(data.count > 10_000, "\(data.count) bytes: three panels of points and lines")
    }

    @Test("a model compared with itself agrees on everything")
    func sameModel() async throws {
        let tmp = try TempFolder()
        let input = try Self.input(in: tmp)
        let outcome = try await CLI.run(["compare", Self.modelA, Self.modelA, input, "--json", "-", "-q"], in: tmp.url, limit: .seconds(120))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: outcome.stdout) as? [String: Any])
        #expect(report["disagreementCount"] as? Int == 0)
        #expect(
            (report["categories"] as? [[String: Any]])?.allSatisfy { $0["agreement"] as? Double == 1 && $0["maxAbsoluteDifference"] as? Double == 0 } == true)
    }

    @Test("bad arguments: --model, standard input, a missing model")
    func refusals() async throws {
        let tmp = try TempFolder()
        let input = try Self.input(in: tmp)
        let withModel = try await CLI.run(["compare", Self.modelA, Self.modelB, input, "--model", Self.modelA], in: tmp.url, limit: .seconds(60))
        #expect(withModel.status == 64 && withModel.stderr.contains("not --model"), "\(withModel.stderr)")
        let stdin = try await CLI.run(["compare", Self.modelA, Self.modelB, "-"], in: tmp.url, limit: .seconds(60))
        #expect(stdin.status == 64 && stdin.stderr.contains("give a file"), "\(stdin.stderr)")
        let missing = try await CLI.run(["compare", Self.modelA, tmp.path("no-such-model"), input], in: tmp.url, limit: .seconds(60))
        #expect(missing.status == 1 && missing.stderr.contains("cannot load the model in"), "\(missing.stderr)")
    }
}

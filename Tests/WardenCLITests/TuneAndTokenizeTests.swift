import Foundation
import Testing
import WardenTestSupport

/// `warden tune` and `warden tokenize` run as processes.
@Suite("warden tune and warden tokenize (process level)", .serialized, .timeLimit(.minutes(3)))
struct TuneAndTokenizeTests {
    @Test("a tiny tune sweep on the fixture model prints every cell, writes the CSV and recommends serve flags")
    func tinySweep() async throws {
        let tmp = try TempFolder()
        let corpus = tmp.path("corpus.txt")
        try "hello there\nsee you tomorrow at the game\ngg wp\n".write(toFile: corpus, atomically: true, encoding: .utf8)
        let outcome = try await CLI.run(
            [
                "tune", "--model", CLI.model, "--batch-sizes", "1,4", "--delays", "0", "--threads", "1x1x1",
                "--seconds", "0.5", "--warmup", "0.1", "--rounds", "1", "--concurrency", "4",
                "--corpus", corpus, "--p99-ms", "100000", "--csv", tmp.path("tune.csv"),
            ], in: tmp.url)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let text = outcome.stdoutText
        #expect(text.contains("recommended"), "\(text)")
        #expect(text.contains("warden serve --max-batch-size"))
        let csv = try String(contentsOfFile: tmp.path("tune.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3, "header and one line per cell")
        #expect(csv.first?.hasPrefix("workers,torch_threads,blas_threads,layout,max_batch_size") == true)
        #expect(csv.dropFirst().allSatisfy { $0.hasPrefix("1,1,1,padded,") }, "a model without a packed entry point is tuned padded")
    }

    @Test("tune compares packed and padded layouts on a model that can pack, and refuses packing on one that cannot")
    func packedLayouts() async throws {
        let tmp = try TempFolder()
        let corpus = tmp.path("corpus.txt")
        try "hello there\nsee you tomorrow at the game\ngg wp\n".write(toFile: corpus, atomically: true, encoding: .utf8)
        let grid = [
            "--batch-sizes", "1,8", "--delays", "1", "--threads", "1x1x1", "--seconds", "0.5", "--warmup", "0.1",
            "--rounds", "1", "--concurrency", "8", "--corpus", corpus, "--p99-ms", "100000",
        ]
        let packedModel = CLI.fixtures.appendingPathComponent("tiny-bert-packed").path
        let outcome = try await CLI.run(
            ["tune", "--model", packedModel, "--layouts", "padded,packed32", "--csv", tmp.path("tune.csv")] + grid,
            in: tmp.url)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdoutText.contains("packed32 vs padded"), "\(outcome.stdoutText)")
        let csv = try String(contentsOfFile: tmp.path("tune.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 5, "header and one line per layout x batch size")
        #expect(csv.filter { $0.hasPrefix("1,1,1,packed32,") }.count == 2)

        let refused = try await CLI.run(["tune", "--model", CLI.model, "--layouts", "packed64"] + grid, in: tmp.url)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("packed entry point"), "\(refused.stderr)")
    }

    @Test("tune measures bf16 and fp32 on the shipped bf16 model, and recommends a precision")
    func precisionGrid() async throws {
        let tmp = try TempFolder()
        let corpus = tmp.path("corpus.txt")
        try "hello there\nsee you tomorrow at the game\ngg wp\n".write(toFile: corpus, atomically: true, encoding: .utf8)
        let outcome = try await CLI.run(
            [
                "tune", "--model", TestPaths.defaultModel.path, "--batch-sizes", "4", "--delays", "0",
                "--layouts", "padded", "--threads", "1x1x1", "--seconds", "0.3", "--warmup", "0.1", "--rounds", "1",
                "--concurrency", "4", "--corpus", corpus, "--p99-ms", "100000", "--csv", tmp.path("tune.csv"),
            ],
            in: tmp.url)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdoutText.contains("precisions [\"bf16\", \"fp32\"]"), "\(outcome.stdoutText)")
        #expect(outcome.stdoutText.contains("--precision "), "the recommendation names a precision: \(outcome.stdoutText)")
        let csv = try String(contentsOfFile: tmp.path("tune.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasSuffix(",precision") == true)
        #expect(csv.dropFirst().map { $0.split(separator: ",").last.map(String.init) } == ["bf16", "fp32"])

        let refused = try await CLI.run(["tune", "--model", CLI.model, "--precisions", "fp16"], in: tmp.url)
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--precisions takes"), "\(refused.stderr)")
    }

    @Test("tune refuses a malformed grid before loading anything")
    func badGrid() async throws {
        let tmp = try TempFolder()
        let outcome = try await CLI.run(["tune", "--model", CLI.model, "--threads", "2x1"], in: tmp.url)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("WORKERSxTORCHxBLAS"))
    }

    @Test("tokenize prints ids and pieces as the server encodes them, from arguments and standard input")
    func tokenize() async throws {
        let tmp = try TempFolder()
        let tokenizer = ["--tokenizer", TestPaths.tokenizer.path]
        let ids = try await CLI.run(["tokenize"] + tokenizer + ["hello world"], in: tmp.url)
        #expect(ids.status == 0, "\(ids.stderr)")
        #expect(ids.stdoutText == "101 7592 2088 102\n")
        let pieces = try await CLI.run(["tokenize", "--tokens"] + tokenizer + ["Unaffable!"], in: tmp.url)
        #expect(pieces.stdoutText.trimmingCharacters(in: .newlines).split(separator: " ").first == "[CLS]")
        #expect(pieces.stdoutText.contains("##"))

        let input = tmp.path("in.txt")
        try Data("hello world\n".utf8 + [0xC3, 0x28] + Data("\nbye\n".utf8)).write(to: URL(fileURLWithPath: input))
        let lines = try await CLI.run(["tokenize"] + tokenizer, stdinFile: input, in: tmp.url)
        #expect(lines.status == 1, "a line that is not UTF-8 fails the run")
        let printed = lines.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(printed.count == 4)
        #expect(printed[0] == "101 7592 2088 102")
        #expect(printed[1] == "", "the bad line prints as an empty line, keeping line numbers")
        #expect(lines.stderr.contains("text 2"), "\(lines.stderr)")

        let bad = try await CLI.run(["tokenize", "--max-length", "1", "x"] + tokenizer, in: tmp.url)
        #expect(bad.status == 64)
    }
}

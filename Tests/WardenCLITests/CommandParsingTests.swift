import ArgumentParser
import Testing
import WardenCore
@testable import warden

/// The commands parsed in-process, as `warden` parses its command line: which command a line selects, what
/// its options build, and that a bad value is refused before anything runs. The defaults come from the
/// configuration types; these tests hold the options to them.
@Suite struct CommandParsingTests {
    @Test("each subcommand is selected by its name")
    func subcommands() throws {
        #expect(try Warden.parseAsRoot(["serve"]) is ServeCommand)
        #expect(try Warden.parseAsRoot(["score", "in.txt", "-o", "out.jsonl"]) is ScoreCommand)
        #expect(try Warden.parseAsRoot(["worker", "--stream", "CHAT"]) is WorkerCommand)
        #expect(try Warden.parseAsRoot(["tokenize", "hello"]) is TokenizeCommand)
        #expect(try Warden.parseAsRoot(["tune"]) is TuneCommand)
    }

    @Test("without options, the engine a command builds is the engine configuration's default")
    func defaultsComeFromTheConfiguration() throws {
        let serve = try #require(try Warden.parseAsRoot(["serve"]) as? ServeCommand)
        let workers = try serve.model.resolvedWorkers()
        #expect(workers == EngineConfiguration().workers)
        var expected = EngineConfiguration()
        expected.workers = workers
        let built = try serve.batching.configuration(workers: workers)
        #expect(built.batching == expected.batching)
        #expect(built.moderator == expected.moderator)
    }

    @Test("batching flags reach the configuration, the bulk batch cap included")
    func batchingFlags() throws {
        let serve = try #require(try Warden.parseAsRoot([
            "serve", "--max-batch-size", "8", "--bulk-max-batch-ms", "120", "--bulk-deadline-ms", "30000", "--cache-size", "0",
        ]) as? ServeCommand)
        let built = try serve.batching.configuration(workers: 1)
        #expect(built.batching.maxBatchSize == 8)
        #expect(built.batching.maxBulkBatchTime == .milliseconds(120))
        #expect(built.batching.bulk.defaultDeadline == .seconds(30))
        #expect(built.moderator.cacheCapacity == 0)
    }

    @Test("score takes its input and output; a flag that cannot be used is refused at parse time")
    func scoreAndRefusals() throws {
        let score = try #require(try Warden.parseAsRoot(["score", "in.jsonl", "-o", "out.csv", "--text-field", "body"]) as? ScoreCommand)
        #expect(score.input == "in.jsonl" && score.output == "out.csv" && score.textField == "body")
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["score", "in.txt", "--format", "xml"]) }
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["score", "in.txt", "--resume"]) }   // needs -o FILE
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["serve", "--max-body-bytes", "10"]) }
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["serve", "--no-such-flag"]) }
    }
}

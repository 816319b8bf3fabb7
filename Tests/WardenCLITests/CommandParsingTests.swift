import ArgumentParser
import Logging
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

    @Test("worker --amqp-url builds the RabbitMQ settings from its flags; a bad queue type or URL is refused")
    func amqpWorkerSettings() throws {
        let command = try #require(try Warden.parseAsRoot([
            "worker", "--amqp-url", "amqps://warden:secret@rabbit.example/chat", "--amqp-queue", "in", "--amqp-queue-type", "classic",
            "--amqp-dead-letter-exchange", "dead", "--amqp-results-exchange", "results", "--amqp-results-routing-key", "v.{routing_key}",
            "--amqp-results-queue", "", "--amqp-retry-delay", "2.5",
        ]) as? WorkerCommand)
        let settings = try command.amqpWorkerSettings(url: command.amqpUrl ?? "", logger: Logger(label: "test"))
        #expect(settings.connection.useTLS && settings.connection.port == 5671 && settings.connection.virtualHost == "chat")
        #expect(settings.connection.user == "warden" && settings.connection.password == "secret")
        #expect(settings.queue == "in" && settings.queueType == "classic" && settings.deadLetterExchange == "dead")
        #expect(settings.queueArguments == ["x-queue-type": .string("classic"), "x-dead-letter-exchange": .string("dead")])
        #expect(settings.resultsExchange == "results" && settings.resultsRoutingKey(for: "chat.room1") == "v.chat.room1")
        #expect(settings.resultsQueue == nil && settings.retryDelay == .milliseconds(2500))

        let defaults = try #require(try Warden.parseAsRoot(["worker", "--amqp-url", "amqp://h"]) as? WorkerCommand)
        let plain = try defaults.amqpWorkerSettings(url: "amqp://h", logger: Logger(label: "test"))
        #expect(plain.queue == "moderation.requests" && plain.queueType == "quorum" && plain.resultsExchange == "")
        #expect(plain.resultsQueue == "moderation.verdicts" && plain.deadLetterExchange == nil)

        let badType = try #require(try Warden.parseAsRoot(["worker", "--amqp-url", "amqp://h", "--amqp-queue-type", "stream"]) as? WorkerCommand)
        #expect(throws: ValidationError.self) { try badType.amqpWorkerSettings(url: "amqp://h", logger: Logger(label: "test")) }
        #expect(throws: ValidationError.self) { try defaults.amqpWorkerSettings(url: "http://h", logger: Logger(label: "test")) }
    }
}

import AMQPClient
import ArgumentParser
import Logging
import Testing
import WardenCore
import WardenGateway
import WardenScore
import WardenServer
import WardenStream

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
        let workers = try serve.engine.model.resolvedWorkers()
        #expect(workers == EngineConfiguration().workers)
        var expected = EngineConfiguration()
        expected.workers = workers
        let built = try serve.engine.batching.configuration(workers: workers)
        #expect(built.batching == expected.batching)
        #expect(built.moderator == expected.moderator)
    }

    @Test("batching flags reach the configuration, the bulk batch cap included")
    func batchingFlags() throws {
        let serve = try #require(
            try Warden.parseAsRoot([
                "serve", "--max-batch-size", "8", "--bulk-max-batch-ms", "120", "--bulk-deadline-ms", "30000", "--cache-size", "0",
            ]) as? ServeCommand)
        let built = try serve.engine.batching.configuration(workers: 1)
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
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["score", "in.txt", "--resume"]) }  // needs -o FILE
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["serve", "--max-body-bytes", "10"]) }
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["serve", "--no-such-flag"]) }
    }

    @Test("worker --amqp-url builds the RabbitMQ settings from its flags; a bad queue type or URL is refused")
    func amqpWorkerSettings() throws {
        let command = try #require(
            try Warden.parseAsRoot([
                "worker", "--amqp-url", "amqps://warden:secret@rabbit.example/chat", "--amqp-queue", "in", "--amqp-queue-type", "classic",
                "--amqp-dead-letter-exchange", "dead", "--amqp-results-exchange", "results", "--amqp-results-routing-key", "v.{routing_key}",
                "--amqp-results-queue", "", "--amqp-retry-delay", "2.5",
            ]) as? WorkerCommand)
        let settings = try #require(try command.amqpWorkerSettings(logger: Logger(label: "test")))
        #expect(settings.connection.useTLS && settings.connection.port == 5671 && settings.connection.virtualHost == "chat")
        #expect(settings.connection.user == "warden" && settings.connection.password == "secret")
        #expect(settings.queue == "in" && settings.queueType == "classic" && settings.deadLetterExchange == "dead")
        #expect(settings.queueArguments == ["x-queue-type": .string("classic"), "x-dead-letter-exchange": .string("dead")])
        #expect(settings.resultsExchange == "results" && settings.resultsRoutingKey(for: "chat.room1") == "v.chat.room1")
        #expect(settings.resultsQueue == nil && settings.retryDelay == .milliseconds(2500))

        let defaults = try #require(try Warden.parseAsRoot(["worker", "--amqp-url", "amqp://h"]) as? WorkerCommand)
        let plain = try #require(try defaults.amqpWorkerSettings(logger: Logger(label: "test")))
        #expect(plain.queue == "moderation.requests" && plain.queueType == "quorum" && plain.resultsExchange == "")
        #expect(plain.resultsQueue == "moderation.verdicts" && plain.deadLetterExchange == nil)
        #expect(
            plain.prefetch
                == AMQPWorkerSettings.defaultPrefetch(maxBatchSize: BatchingConfiguration().maxBatchSize, workers: try defaults.engine.configuration().workers))

        let badType = try #require(try Warden.parseAsRoot(["worker", "--amqp-url", "amqp://h", "--amqp-queue-type", "stream"]) as? WorkerCommand)
        #expect(throws: ValidationError.self) { try badType.amqpWorkerSettings(logger: Logger(label: "test")) }
        let badURL = try #require(try Warden.parseAsRoot(["worker", "--amqp-url", "http://h"]) as? WorkerCommand)
        #expect(throws: ValidationError.self) { try badURL.amqpWorkerSettings(logger: Logger(label: "test")) }
        let both = try #require(try Warden.parseAsRoot(["worker", "--amqp-url", "amqp://h", "--stream", "CHAT"]) as? WorkerCommand)
        #expect(throws: ValidationError.self) { try both.amqpWorkerSettings(logger: Logger(label: "test")) }
        let nats = try #require(try Warden.parseAsRoot(["worker"]) as? WorkerCommand)
        #expect(try nats.amqpWorkerSettings(logger: Logger(label: "test")) == nil)
    }

    @Test("one engine group for every model-running command: its log level defaults to the server's, warning for score")
    func engineGroup() throws {
        let serve = try #require(try Warden.parseAsRoot(["serve"]) as? ServeCommand)
        #expect(try serve.engine.resolvedLogLevel() == ServerConfiguration().logLevel)
        let score = try #require(try Warden.parseAsRoot(["score", "--log-level", "DEBUG"]) as? ScoreCommand)
        #expect(try score.engine.resolvedLogLevel(default: ScoreCommand.defaultLogLevel) == .debug)
        let worker = try #require(try Warden.parseAsRoot(["worker", "--log-level", "loud"]) as? WorkerCommand)
        #expect(throws: ValidationError.self) { try worker.engine.resolvedLogLevel() }
        let built = try #require(try Warden.parseAsRoot(["worker", "--workers", "2", "--max-batch-size", "4"]) as? WorkerCommand)
        #expect(try built.engine.configuration().workers == 2 && built.engine.configuration().batching.maxBatchSize == 4)
    }

    @Test("score's flags build its run; without them the run's defaults are the library's")
    func scoreRun() throws {
        let plain = try #require(try Warden.parseAsRoot(["score", "in.csv", "-o", "out.jsonl"]) as? ScoreCommand).scoreRun()
        #expect(plain.reader.format == .csv && plain.outputFormat == .jsonl)
        #expect(plain.job.window == ScoreJobSettings().window && plain.job.maxBufferedBytes == ScoreJobSettings().maxBufferedBytes)
        #expect(plain.reader.maxRecordBytes == ReaderSettings.defaultMaxRecordBytes && plain.groupSize == nil)
        let flagged = try #require(
            try Warden.parseAsRoot([
                "score", "in.txt", "-o", "out.csv", "--format", "jsonl", "--threshold", "toxic=0.2", "--group-size", "16", "--window", "64",
                "--only-flagged", "--include-text", "--max-records", "10", "-q",
            ]) as? ScoreCommand
        ).scoreRun()
        #expect(flagged.reader.format == .jsonl && flagged.outputFormat == .csv)
        #expect(flagged.thresholds == ["toxic": 0.2] && flagged.groupSize == 16 && flagged.job.window == 64)
        #expect(flagged.job.onlyFlagged && flagged.includeText && flagged.job.maxRecords == 10 && !flagged.job.progress)
    }

    @Test("worker's flags build what it serves; with neither a stream nor a check subject it has nothing to do")
    func workerConfiguration() throws {
        let checks = try #require(try Warden.parseAsRoot(["worker"]) as? WorkerCommand).workerConfiguration()
        #expect(checks.stream == nil && checks.checkSubject == WorkerConfiguration().checkSubject)
        let stream = try #require(
            try Warden.parseAsRoot([
                "worker", "--stream", "CHAT", "--lane", "interactive", "--max-batch-size", "8", "--workers", "2", "--check-subject", "",
            ]) as? WorkerCommand
        ).workerConfiguration()
        let settings = try #require(stream.stream)
        #expect(settings.stream == "CHAT" && settings.consumer == StreamWorkerSettings.defaultConsumer && settings.lane == .interactive)
        #expect(settings.fetchBatch == 16 && settings.maxInFlight == 32, "a pull per batch of every worker, two pulls held")
        #expect(stream.checkSubject.isEmpty)
        let idle = try #require(try Warden.parseAsRoot(["worker", "--check-subject", ""]) as? WorkerCommand)
        #expect(throws: ValidationError.self) { try idle.workerConfiguration() }
    }

    @Test("serve's flags build the server's configuration, drain timeout included")
    func serverConfiguration() throws {
        let serve = try #require(
            try Warden.parseAsRoot([
                "serve", "--port", "0", "--max-inputs", "7", "--drain-timeout-s", "3", "--api-key", "key-file-0123456789abcdef",
            ]) as? ServeCommand)
        let configuration = try serve.serverConfiguration(logger: Logger(label: "test"))
        #expect(configuration.port == 0 && configuration.limits.maxInputs == 7 && configuration.drainTimeout == .seconds(3))
        #expect(configuration.apiKeys == ["key-file-0123456789abcdef"])
        let short = try #require(try Warden.parseAsRoot(["serve", "--api-key", "short"]) as? ServeCommand)
        #expect(throws: ValidationError.self) { try short.serverConfiguration(logger: Logger(label: "test")) }
    }
}

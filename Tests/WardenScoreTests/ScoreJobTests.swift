import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing
import WardenCore
import WardenScore
import WardenTestSupport
import WordPiece

/// A deterministic model over a small vocabulary. Per text: "toxic" is 0.9 when the word "bad" is in it,
/// else 0.1; "long" is its word pieces (with [CLS] and [SEP]) / 100. A batch holding "boom" fails, and so does
/// one holding "flaky" while `flaky` (a transient failure: a later run with a new backend scores it); one
/// holding "slow" takes 20 ms longer. While `held`, every batch waits. Records the first word of each text
/// it scored, in the order the batches finished.
final class WordBackend: InferenceBackend, Sendable {
    static let vocabulary =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "bad", "boom", "slow", "hello", "world"]
        + (0..<100).map { "w\($0)" } + ["flaky"]
    static let bad: Int64 = 5, boom: Int64 = 6, slow: Int64 = 7, flakyWord: Int64 = 110

    struct Boom: Error {}

    let labelCount = 2
    private let held: Atomic<Bool>
    private let flaky: Bool
    private let calls = Atomic<Int>(0)
    private let finished = Mutex<[Int64]>([])

    init(held: Bool = false, flaky: Bool = false) {
        self.held = Atomic(held)
        self.flaky = flaky
    }

    /// Backend calls so far (held ones included).
    var batches: Int { calls.load(ordering: .relaxed) }
    func release() { held.store(false, ordering: .relaxed) }
    /// The id of the first word of each text scored, in the order the batches finished.
    var finishedOrder: [Int64] { finished.withLock { $0 } }

    /// The scores this backend gives `text` (words of the vocabulary separated by spaces).
    static func expected(_ text: String) -> [Float] {
        let words = text.split(separator: " ")
        return [words.contains("bad") ? 0.9 : 0.1, Float(words.count + 2) / 100]
    }

    func score(_ batch: TokenBatch) async throws -> [Float] {
        calls.add(1, ordering: .relaxed)
        while held.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
        var output: [Float] = []
        var slow = false
        for r in 0..<batch.count {
            let row = (0..<batch.length).filter { batch.attentionMask[r * batch.length + $0] == 1 }.map { batch.inputIDs[r * batch.length + $0] }
            if row.contains(Self.boom) || (flaky && row.contains(Self.flakyWord)) { throw Boom() }
            slow = slow || row.contains(Self.slow)
            output += [row.contains(Self.bad) ? 0.9 : 0.1, Float(row.count) / 100]
        }
        if slow { try await Task.sleep(for: .milliseconds(20)) }
        finished.withLock { $0 += (0..<batch.count).map { batch.inputIDs[$0 * batch.length + 1] } }
        return output
    }
}

/// A real ``ModerationEngine`` (batcher, moderator, tokenizer) over ``WordBackend``s (one per worker), as
/// `warden score` runs it.
struct Engine {
    static let labels = ["toxic", "long"]
    let backend: WordBackend
    let service: ModerationEngine

    init(workers: Int = 1, maxBatchSize: Int = 32, held: Bool = false, flaky: Bool = false) throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: WordBackend.vocabulary, configuration: TokenizerConfiguration())
        backend = WordBackend(held: held, flaky: flaky)
        var configuration = EngineConfiguration()
        configuration.workers = workers
        configuration.warmUpTexts = []
        configuration.batching.maxBatchSize = maxBatchSize
        configuration.batching.bulk.defaultDeadline = .seconds(300)  // a slow, busy test machine must not fail the run
        configuration.moderator.longTextPolicy = .windows(overlap: 4)
        configuration.moderator.maxWindowsPerText = 16  // the long-text tests count on this cap
        var logger = Logger(label: "warden.engine")
        logger.logLevel = .critical  // the backend failures some tests cause are expected
        let bundle = ModelBundle(
            name: "words", labels: Self.labels, thresholds: [0.5, 0.5], maxSequenceLength: 16,
            textNormalization: .platformV1)
        service = try ModerationEngine(
            bundle: bundle, tokenizer: tokenizer, configuration: configuration,
            backends: BackendLoader.existing(Array(repeating: backend, count: workers)), logger: logger)
    }

    /// A job from `input` (plain text) to JSON Lines at `output`, with each record's text.
    func job(
        _ input: String, _ output: String, _ settings: ScoreJobSettings = ScoreJobSettings(), appendFrom: Int64? = nil,
        reading: ReaderSettings = ReaderSettings(format: .text)
    ) throws -> ScoreJob {
        let writer = try RecordWriter(path: output, layout: Self.layout, appendFrom: appendFrom)
        return try job(input, writer: writer, settings, reading: reading)
    }

    /// JSON Lines with each record's text.
    static let layout = OutputLayout(format: .jsonl, labels: labels, carriedColumns: [], includeText: true)

    /// A job from `input` (plain text) through `writer`, with the earlier output `previous` (`--resume`).
    func job(
        _ input: String, writer: RecordWriter, _ settings: ScoreJobSettings = ScoreJobSettings(), previous: PreviousOutput? = nil,
        reading: ReaderSettings = ReaderSettings(format: .text)
    ) throws -> ScoreJob {
        let reader = try RecordReader(path: input, settings: reading)
        return ScoreJob(
            reader: reader, writer: writer, engine: service, options: Moderator.Options(lane: .bulk), settings: settings,
            previous: previous)
    }

    /// Scores `input` into `output` as `warden score` does, through a ``ScoreRun`` (a partial file renamed into
    /// place; with `resume`, continuing the earlier output and scoring its failed records again).
    func run(_ input: String, to output: String, resume: Bool = false, _ settings: ScoreJobSettings = ScoreJobSettings()) async throws -> ScoreSummary {
        var run = ScoreRun(input: input, output: output, inputFormat: .text, outputFormat: .jsonl)
        run.includeText = true
        run.resume = resume
        run.job = settings
        run.groupSize = settings.groupSize
        run.reorderLimit = settings.reorderLimit
        return try await run.run(model: "words", logger: Logger(label: "warden.score.tests")) { service }
    }

    /// Runs the engine (made `held`) and `job`, and shuts the job down gracefully once the first batch reaches the
    /// held backend, then lets the backend go. Only the job sees the shutdown, as in `warden score`, where the
    /// group stops it before the engine.
    func runStoppingAtFirstBatch(_ job: ScoreJob) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await service.run() }
            try await testGracefulShutdown { trigger in
                async let run: Void = job.run()
                try await waitUntil("the first batch", every: .milliseconds(1)) { backend.batches > 0 }
                trigger.triggerGracefulShutdown()
                backend.release()
                try await run
            }
            tasks.cancelAll()
        }
    }

    /// The service group `warden score` runs: the engine, then the job, which ends the group when it is done.
    func group(_ job: ScoreJob) -> ServiceGroup {
        ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service), .init(service: job, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: Logger(label: "warden.score.tests")))
    }
}

/// One record of JSON Lines output.
struct Written {
    var record: Int
    var text: String?
    var scores: [Float]?
    var flagged: Bool?
    var truncated: Bool?
    var error: String?

    static func read(_ path: String) throws -> [Written] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let scores = object["scores"] as? [String: Double]
            return Written(
                record: try #require(object["record"] as? Int), text: object["text"] as? String,
                scores: scores.map { [Float($0["toxic"]!), Float($0["long"]!)] },
                flagged: object["flagged"] as? Bool, truncated: object["truncated"] as? Bool,
                error: (object["error"] as? [String: Any])?["code"] as? String)
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct ScoreJobTests {
    @Test("results are written in input order however the groups finish, with every record's scores")
    func inputOrder() async throws {
        let scratch = try TempFolder()
        let texts = (1...300).map { "w\($0 % 100) hello" + ($0 % 7 == 0 ? " slow" : "") + ($0 % 5 == 0 ? " bad" : "") }
        let input = try scratch.write("in.txt", texts.joined(separator: "\n") + "\n")
        let engine = try Engine(workers: 2, maxBatchSize: 4)  // about a group a batch, two batches at a time
        var settings = ScoreJobSettings()
        settings.groupSize = 3
        settings.window = 30
        settings.reorderLimit = 60
        let job = try engine.job(input, scratch.path("out.jsonl"), settings)
        try await engine.group(job).run()

        let written = try Written.read(scratch.path("out.jsonl"))
        let firstWords = texts.map { Int64(WordBackend.vocabulary.firstIndex(of: String($0.split(separator: " ")[0]))!) }
        #expect(engine.backend.finishedOrder != firstWords, "the groups finished in input order: nothing was reordered")
        #expect(written.map(\.record) == Array(1...300))
        #expect(written.map(\.text) == texts)
        #expect(written.map(\.scores) == texts.map(WordBackend.expected))
        #expect(written.map(\.flagged) == texts.map { $0.hasSuffix("bad") })
        var tally = ScoreTally(labelCount: 2)
        (tally.records, tally.scored, tally.written, tally.lastRecord) = (300, 300, 300, 300)
        (tally.flagged, tally.flaggedPerLabel) = (60, [60, 0])
        tally.bufferedBytesHighWater = job.tally.bufferedBytesHighWater  // depends on timing; see byteBound
        #expect(job.tally == tally)
        #expect(!job.interrupted && job.inputError == nil)
        #expect(ScoreSummary(job: job, model: "m", modelLoadTime: .zero).exitCode == 0)
    }

    @Test("bad records stay in place as error records; a record that fails to score does not fail its group")
    func errorRecords() async throws {
        let scratch = try TempFolder()
        let bytes = Array("hello\n\nworld boom\n".utf8) + [0x77, 0xFF, 0x0A] + Array("world bad\nw1".utf8)
        let input = try scratch.write("in.txt", bytes: bytes)
        let engine = try Engine()
        let job = try engine.job(input, scratch.path("out.jsonl"))  // all six records in one group
        try await engine.group(job).run()

        let written = try Written.read(scratch.path("out.jsonl"))
        #expect(written.map(\.record) == [1, 2, 3, 4, 5, 6])
        #expect(written.map(\.error) == [nil, "empty_text", "scoring_failed", "invalid_utf8", nil, nil])
        #expect(written.map(\.flagged) == [false, nil, nil, nil, true, false])
        #expect(job.tally.failedByCode == ["empty_text": 1, "scoring_failed": 1, "invalid_utf8": 1])
        #expect(job.tally.scored == 3 && job.tally.written == 6 && job.tally.skippedInvalid == 0)
        #expect(ScoreSummary(job: job, model: "m", modelLoadTime: .zero).exitCode == 2)

        // --skip-invalid leaves out the bad input, not the scoring failure.
        var settings = ScoreJobSettings()
        settings.skipInvalid = true
        let again = try Engine()
        let skipping = try again.job(input, scratch.path("skipped.jsonl"), settings)
        try await again.group(skipping).run()
        #expect(try Written.read(scratch.path("skipped.jsonl")).map(\.record) == [1, 3, 5, 6])
        #expect(skipping.tally.skippedInvalid == 2 && skipping.tally.written == 4 && skipping.tally.failed == 3)
    }

    @Test("onlyFlagged writes the flagged records and the error records, and still counts the rest")
    func onlyFlagged() async throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", "hello\nbad\n\nworld bad\nw2\n")
        let engine = try Engine()
        var settings = ScoreJobSettings()
        settings.onlyFlagged = true
        let job = try engine.job(input, scratch.path("out.jsonl"), settings)
        try await engine.group(job).run()
        #expect(try Written.read(scratch.path("out.jsonl")).map(\.record) == [2, 3, 4])
        #expect(job.tally.records == 5 && job.tally.scored == 4 && job.tally.flagged == 2 && job.tally.written == 3)
    }

    @Test("maxRecords stops early; resuming after it (cut-off line and all) completes the file exactly as one clean run")
    func maxRecordsAndResume() async throws {
        let scratch = try TempFolder()
        let texts = (1...40).map { "w\($0) hello" + ($0 % 3 == 0 ? " bad" : "") }
        let input = try scratch.write("in.txt", texts.joined(separator: "\n") + "\n")
        var small = ScoreJobSettings()
        small.groupSize = 4
        small.window = 8

        let clean = try Engine()
        try await clean.group(try clean.job(input, scratch.path("clean.jsonl"), small)).run()

        var first = small
        first.maxRecords = 15
        let partialEngine = try Engine()
        let partial = try partialEngine.job(input, scratch.path("out.jsonl"), first)
        try await partialEngine.group(partial).run()
        #expect(partial.tally.records == 15 && partial.tally.lastRecord == 15)
        #expect(try Written.read(scratch.path("out.jsonl")).map(\.record) == Array(1...15))
        // As if killed in the middle of a write.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path("out.jsonl")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"record":16,"li"#.utf8))
        try handle.close()

        let point = try ResumePoint.find(path: scratch.path("out.jsonl"), format: .jsonl)
        #expect(point.lastRecord == 15)
        var rest = small
        rest.resumeAfter = point.lastRecord
        let restEngine = try Engine()
        let resumed = try restEngine.job(input, scratch.path("out.jsonl"), rest, appendFrom: point.validLength)
        try await restEngine.group(resumed).run()
        #expect(resumed.tally.resumedAfter == 15 && resumed.tally.records == 25 && resumed.tally.lastRecord == 40)
        #expect(try scratch.read("out.jsonl") == scratch.read("clean.jsonl"))
        #expect(ScoreSummary(job: resumed, model: "m", modelLoadTime: .zero).line.contains("; resumed after record 15 -> "))
    }

    @Test("graceful shutdown stops reading, writes the records in flight and marks the run interrupted")
    func gracefulShutdown() async throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", (1...200).map { "w\($0 % 100)" }.joined(separator: "\n"))
        let engine = try Engine(held: true)
        var settings = ScoreJobSettings()
        settings.groupSize = 2
        settings.window = 4
        let job = try engine.job(input, scratch.path("out.jsonl"), settings)
        // The job fills its window (two groups) before the first batch reaches the held backend.
        try await engine.runStoppingAtFirstBatch(job)
        #expect(job.interrupted)
        #expect(try Written.read(scratch.path("out.jsonl")).map(\.record) == [1, 2, 3, 4])
        #expect(job.tally.records == 4 && job.tally.lastRecord == 4)
        let summary = ScoreSummary(job: job, model: "m", modelLoadTime: .zero)
        #expect(summary.exitCode == 130)
        #expect(summary.line.hasPrefix("warden: 4 records (interrupted) in "))
        #expect(
            summary.notes == [
                "warden: stopped after input record 4 of \(input); every record up to it is in the output. Run the same command with --resume to continue."
            ])
    }

    @Test("large records: the job never holds more than maxBufferedBytes of records read and not yet written")
    func byteBound() async throws {
        let scratch = try TempFolder()
        // 60 records of about 40 KB: 2.4 MB, which the record bounds alone (1024 in flight) would read at once.
        let texts = (0..<60).map { index in (0..<10_000).map { "w\(($0 + index) % 100)" }.joined(separator: " ") }
        let input = try scratch.write("in.txt", texts.joined(separator: "\n") + "\n")
        let engine = try Engine(maxBatchSize: 4)
        var settings = ScoreJobSettings()
        settings.groupSize = 8
        settings.maxBufferedBytes = 200_000
        let reading = ReaderSettings(format: .text, maxRecordBytes: 64 << 10)
        let job = try engine.job(input, scratch.path("out.jsonl"), settings, reading: reading)
        try await engine.group(job).run()

        #expect(try Written.read(scratch.path("out.jsonl")).map(\.record) == Array(1...60))
        #expect(job.tally.scored == 60)
        let largest = texts.map(\.utf8.count).max()!
        #expect(job.tally.bufferedBytesHighWater >= largest, "the high-water mark counts the records held")
        #expect(job.tally.bufferedBytesHighWater <= settings.maxBufferedBytes, "held \(job.tally.bufferedBytesHighWater) bytes")
    }

    @Test("a text needing more windows than allowed is scored in part: marked truncated in the output and counted")
    func truncatedRecords() async throws {
        let scratch = try TempFolder()
        let long = (0..<400).map { "w\($0 % 100)" }.joined(separator: " ")  // 40 windows of 14 word pieces; 16 allowed
        let input = try scratch.write("in.txt", "hello\nbad \(long)\n\nworld\n")  // the scored part is the start
        let engine = try Engine()
        let job = try engine.job(input, scratch.path("out.jsonl"))
        try await engine.group(job).run()
        let written = try Written.read(scratch.path("out.jsonl"))
        #expect(written.map(\.truncated) == [false, true, nil, false])
        #expect(written.map(\.flagged) == [false, true, nil, false])
        #expect(job.tally.truncated == 1)
        let summary = ScoreSummary(job: job, model: "m", modelLoadTime: .zero)
        #expect(summary.line.contains("(toxic 1, long 0), 1 truncated, 1 failed"), "\(summary.line)")
        let json = try #require(try JSONSerialization.jsonObject(with: summary.jsonData()) as? [String: Any])
        #expect(json["truncated"] as? Int == 1)
    }

    @Test("--resume scores exactly the records that failed before, keeps the others as they were, and keeps input order")
    func resumeRetriesFailures() async throws {
        let scratch = try TempFolder()
        // Unique first words, so the backend's log says which texts it scored; every 7th fails the first time,
        // record 12 always fails.
        let texts = (1...60).map { "w\($0) hello" + ($0 % 7 == 0 ? " flaky" : "") + ($0 == 12 ? " boom" : "") + ($0 % 5 == 0 ? " bad" : "") }
        let input = try scratch.write("in.txt", texts.joined(separator: "\n") + "\n")
        var small = ScoreJobSettings()
        small.groupSize = 4
        small.window = 4  // one group at a time: a failing batch holds no other group's records
        let clean = try Engine()
        _ = try await clean.run(input, to: scratch.path("clean.jsonl"), small)

        var first = small
        first.maxRecords = 40
        let failing = try Engine(flaky: true)
        let partial = try await failing.run(input, to: scratch.path("out.jsonl"), first)
        let failed = try Written.read(scratch.path("out.jsonl")).filter { $0.error == "scoring_failed" }.map(\.record)
        #expect(failed == [7, 12, 14, 21, 28, 35])
        #expect(partial.tally.failed == 6)

        let healthy = try Engine()
        let resumed = try await healthy.run(input, to: scratch.path("out.jsonl"), resume: true, small)
        #expect(try scratch.read("out.jsonl") == scratch.read("clean.jsonl"))
        let scoredAgain = Set(healthy.backend.finishedOrder.map { WordBackend.vocabulary[Int($0)] })
        #expect(scoredAgain == Set((failed.filter { $0 != 12 } + Array(41...60)).map { "w\($0)" }), "only the failed records and the rest")
        #expect(resumed.tally.retried == 6 && resumed.tally.records == 26 && resumed.tally.failed == 1)
        #expect(resumed.tally.resumedAfter == 40 && resumed.tally.lastRecord == 60)
        #expect(resumed.line.contains("; resumed after record 40, retried 6 earlier failures"), "\(resumed.line)")
        #expect(resumed.exitCode == 2, "record 12 failed again")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out.jsonl.partial")))
    }

    @Test("interrupted while re-scoring earlier failures, the new output still holds every earlier record")
    func interruptedRetry() async throws {
        let scratch = try TempFolder()
        let texts = (1...80).map { "w\($0) hello" + ($0 % 3 == 0 ? " flaky" : "") }
        let input = try scratch.write("in.txt", texts.joined(separator: "\n") + "\n")
        var small = ScoreJobSettings()
        small.groupSize = 2
        small.window = 4
        let failing = try Engine(flaky: true)
        var one = small
        one.window = one.groupSize  // one group at a time: a failing batch holds no other group's records
        _ = try await failing.run(input, to: scratch.path("out.jsonl"), one)
        let before = try Written.read(scratch.path("out.jsonl"))
        #expect(before.count == 80 && before.filter { $0.error != nil }.count == 26)

        // Resume with a held backend and stop it once the first re-scored group reaches the backend.
        let engine = try Engine(held: true)
        let file = try OutputFile.prepare(output: scratch.path("out.jsonl"), input: input, resume: true, format: .jsonl)
        #expect(file.mode == .rewrite && file.writePath == scratch.path("out.jsonl.partial"))
        var settings = small
        settings.resumeAfter = try #require(file.resumePoint).lastRecord
        let writer = try file.makeWriter(layout: Engine.layout)
        let job = try engine.job(input, writer: writer, settings, previous: try file.previousOutput())
        try await engine.runStoppingAtFirstBatch(job)
        try file.finish(writer, interrupted: job.interrupted)
        #expect(job.interrupted)
        #expect(file.unfinishedPath == scratch.path("out.jsonl.partial"))
        let after = try Written.read(scratch.path("out.jsonl.partial"))
        #expect(after.map(\.record) == Array(1...80), "every earlier record is still there, in order")
        #expect(job.tally.retried > 0 && after.filter { $0.error != nil }.count == 26 - job.tally.retried)
        #expect(try Written.read(scratch.path("out.jsonl")).map(\.error) == before.map(\.error), "the output is left as it was")
    }
}

import Foundation
import ServiceLifecycle
import Synchronization
import WardenCore

/// The file-scoring loop as a ServiceLifecycle service: reads records, submits them to the engine's ``Moderator``
/// on the bulk lane in groups, with at most `window` records in flight, and writes results in input order
/// as they complete.
///
/// Run it in a `ServiceGroup` after the ``ModerationEngine`` with `successTerminationBehavior:
/// .gracefullyShutdownGroup`: it waits until the engine is warm; when the input ends it returns and the
/// engine then drains and stops. On graceful shutdown (SIGINT,
/// SIGTERM) it stops reading, finishes the records in flight, writes and flushes them, and returns with
/// ``interrupted`` set.
///
/// With ``previous`` (`--resume` over an output with scoring failures) the first ``ScoreJobSettings/resumeAfter``
/// records are those of the earlier output, copied in order, except that its failed records are scored again
/// from the input. Interrupted there, it copies the rest of them unscored, so the new output never holds less
/// than the earlier one.
///
/// - Important: the reader, writer and totals are confined to ``run()``; read the totals only after
///   ``run()`` returned (hence `@unchecked Sendable`).
public final class ScoreJob: Service, @unchecked Sendable {
    public let reader: RecordReader
    public let writer: RecordWriter
    public let engine: ModerationEngine
    public let options: Moderator.Options
    public let settings: ScoreJobSettings
    /// The earlier output whose failed records are scored again (`--resume`); nil: the resumed records are skipped.
    public let previous: PreviousOutput?

    /// The totals of this run.
    public private(set) var tally: ScoreTally
    /// Whether a graceful shutdown (or cancellation) stopped the run before the input ended.
    public private(set) var interrupted = false
    /// A read error that ended the input early (after everything read before it was written).
    public private(set) var inputError: ScoreIOError?
    /// How long scoring took, from its start (after the resume skip) to its end.
    public private(set) var scoringTime: Duration = .zero
    /// When the engine became ready (the model loaded and warmed up); nil if it never did.
    public private(set) var modelReadyAt: ContinuousClock.Instant?

    /// One scored (or failed) record on its way to the output.
    struct ScoredRecord: Sendable {
        var record: InputRecord
        var result: Moderator.Result?
        var error: RecordError?
        /// Why the record was flagged, when the job explains (``ScoreJobSettings/explain``).
        var explanation: Moderator.Explanation?
        /// Copied from the earlier output as it is: these bytes of it (nothing to score).
        var kept: Range<Int64>?
        /// It failed to score in the earlier run and is scored again.
        var retried = false

        init(record: InputRecord, kept: Range<Int64>? = nil, retried: Bool = false) {
            self.record = record
            error = record.error
            self.kept = kept
            self.retried = retried
        }
    }

    private let stopRequested = Atomic<Bool>(false)
    private var progress: ProgressDisplay

    /// A job that reads `reader`, scores through `engine` (which runs beside it, before it in the service
    /// group) with `options`, and writes to `writer`; with `previous`, the resumed records are taken from it.
    public init(
        reader: RecordReader, writer: RecordWriter, engine: ModerationEngine, options: Moderator.Options, settings: ScoreJobSettings,
        previous: PreviousOutput? = nil
    ) {
        self.reader = reader
        self.writer = writer
        self.engine = engine
        self.options = options
        self.settings = settings
        self.previous = previous
        tally = ScoreTally(labelCount: engine.bundle.labels.count)
        progress = ProgressDisplay(enabled: settings.progress, totalBytes: reader.source.knownSize)
    }

    /// Scores the whole input (or up to `maxRecords`), then flushes the output and returns.
    /// - Throws: ``ScoreIOError`` when the output cannot be written. A read error of the input ends the
    ///   run early without throwing: see ``inputError``.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.pump()
        } onGracefulShutdown: {
            self.stopRequested.store(true, ordering: .relaxed)
        }
    }

    private var shouldStop: Bool { stopRequested.load(ordering: .relaxed) || Task.isCancelled }

    private func pump() async throws {
        // The model loads and warms up in the engine, beside this job.
        let moderator = try await engine.ready()
        modelReadyAt = ContinuousClock.now
        // --resume: skip what the output already has (unless its failures are scored again: see nextRecord).
        while previous == nil, tally.resumedAfter < settings.resumeAfter {
            if shouldStop {
                interrupted = true
                return
            }
            do {
                guard try reader.skip() else { break }
            } catch {
                inputError = error as? ScoreIOError ?? ScoreIOError("\(error)")
                return
            }
            tally.resumedAfter += 1
        }
        tally.lastRecord = tally.resumedAfter

        let clock = ContinuousClock()
        let start = clock.now
        var lastFlush = start
        defer { scoringTime = clock.now - start }
        progress = ProgressDisplay(enabled: settings.progress, totalBytes: reader.source.knownSize)

        let options = self.options
        let explain = settings.explain
        let isGzip = reader.source.isGzip
        var progressBytes: Int64 = 0
        var readThisRun = 0
        try await withThrowingTaskGroup(of: (Int, [ScoredRecord]).self) { group in
            var nextGroup = 0
            var nextToWrite = 0
            var inFlight = 0  // submitted, not answered
            var unwritten = 0  // read, not written
            var buffered = 0  // bytes of the records read, not written
            var inputEnded = false
            var finished: [Int: [ScoredRecord]] = [:]
            // Read one more record only while one of the largest size still fits in the byte bound.
            let largest = reader.settings.maxRecordBytes
            func roomForAnother(_ bytes: Int) -> Bool { bytes == 0 || bytes <= settings.maxBufferedBytes - largest }
            while true {
                // Keep the window full.
                while !inputEnded, inFlight < settings.window, unwritten < settings.reorderLimit, roomForAnother(buffered) {
                    if shouldStop { interrupted = true }
                    var chunk: [ScoredRecord] = []
                    var chunkBytes = 0
                    chunk.reserveCapacity(settings.groupSize)
                    while chunk.count < settings.groupSize, roomForAnother(buffered + chunkBytes) {
                        guard let item = try nextRecord(readThisRun: &readThisRun) else {
                            inputEnded = true
                            break
                        }
                        chunkBytes += item.record.heldBytes
                        chunk.append(item)
                    }
                    guard !chunk.isEmpty else { break }
                    let index = nextGroup
                    nextGroup += 1
                    inFlight += chunk.count
                    unwritten += chunk.count
                    buffered += chunkBytes
                    tally.bufferedBytesHighWater = max(tally.bufferedBytesHighWater, buffered)
                    group.addTask {
                        (index, await Self.score(chunk, moderator: moderator, options: options, explain: explain))
                    }
                }
                guard let (index, scored) = try await group.next() else { break }
                finished[index] = scored
                inFlight -= scored.count
                // Write whatever is now next in input order.
                while let ready = finished.removeValue(forKey: nextToWrite) {
                    nextToWrite += 1
                    unwritten -= ready.count
                    for item in ready {
                        buffered -= item.record.heldBytes
                        try write(item)
                    }
                    if let last = ready.last {
                        progressBytes = isGzip ? reader.bytesRead : last.record.inputOffset
                        progress.update(records: tally.records, bytes: progressBytes)
                    }
                }
                if clock.now - lastFlush >= settings.flushInterval {
                    try previous?.flush(into: writer)
                    try writer.flush()
                    lastFlush = clock.now
                }
            }
        }
        try previous?.flush(into: writer)
        try writer.flush()
        progress.update(records: tally.records, bytes: progressBytes, force: true)
        progress.finish()
    }

    /// The next record to submit, or nil when there is none (the input ended, `maxRecords` were read, or the run
    /// is stopping). While ``previous`` has records, its records come first: kept as they are, or, for those
    /// that failed, read again from the input and scored (kept as they are once the run is stopping).
    /// - Throws: ``ScoreIOError`` when the earlier output cannot be read.
    private func nextRecord(readThisRun: inout Int) throws -> ScoredRecord? {
        if let previous {
            while tally.resumedAfter < settings.resumeAfter {
                tally.resumedAfter += 1
                let number = tally.resumedAfter
                let entry = try previous.entry(for: number)
                if case .failed = entry, !interrupted, inputError == nil {
                    if let record = readInput(), record.number == number { return ScoredRecord(record: record, retried: true) }
                } else {
                    skipInput()
                }
                switch entry {
                case .failed(let range), .kept(let range):
                    return ScoredRecord(record: InputRecord(number: number, line: 0, text: nil, inputOffset: reader.bytesRead), kept: range)
                case .absent:
                    continue
                }
            }
        }
        if interrupted { return nil }
        if let max = settings.maxRecords, readThisRun >= max { return nil }
        guard let record = readInput() else { return nil }
        readThisRun += 1
        return ScoredRecord(record: record)
    }

    /// The next input record; nil at its end or after a read error (kept in ``inputError``).
    private func readInput() -> InputRecord? {
        guard inputError == nil else { return nil }
        do {
            return try reader.next()
        } catch {
            inputError = error as? ScoreIOError ?? ScoreIOError("\(error)")
            return nil
        }
    }

    /// Skips the next input record (one the earlier output already has).
    private func skipInput() {
        guard inputError == nil else { return }
        do {
            _ = try reader.skip()
        } catch {
            inputError = error as? ScoreIOError ?? ScoreIOError("\(error)")
        }
    }

    private func write(_ item: ScoredRecord) throws {
        if let kept = item.kept, let previous {
            try previous.keep(kept, into: writer)
            tally.lastRecord = item.record.number
            return
        }
        try previous?.flush(into: writer)
        tally.records += 1
        tally.lastRecord = item.record.number
        if item.retried { tally.retried += 1 }
        if let error = item.error {
            tally.failedByCode[error.code, default: 0] += 1
            if settings.skipInvalid, error.code != "scoring_failed" {
                tally.skippedInvalid += 1
                return
            }
            try writer.write(item.record, result: nil, error: error)
            tally.written += 1
            return
        }
        guard let result = item.result else { return }
        tally.scored += 1
        if result.flagged { tally.flagged += 1 }
        if result.truncated { tally.truncated += 1 }
        for (index, flag) in result.flags.enumerated() where flag { tally.flaggedPerLabel[index] += 1 }
        if settings.onlyFlagged, !result.flagged { return }
        try writer.write(item.record, result: result, error: nil, explanation: item.explanation)
        tally.written += 1
    }

    /// Scores the valid records of one group with one `moderate` call (retrying while the queue is
    /// full); if that call fails, each record is tried alone so one bad text cannot fail its neighbours.
    static func score(_ chunk: [ScoredRecord], moderator: Moderator, options: Moderator.Options, explain: Bool = false) async -> [ScoredRecord] {
        var out = chunk
        let valid = chunk.indices.filter { chunk[$0].kept == nil && chunk[$0].error == nil && chunk[$0].record.text != nil }
        guard !valid.isEmpty else { return out }
        do {
            let results = try await moderate(valid.map { chunk[$0].record.text! }, moderator: moderator, options: options)
            for (position, index) in valid.enumerated() { out[index].result = results[position] }
        } catch {
            for index in valid {
                do {
                    out[index].result = try await moderate([chunk[index].record.text!], moderator: moderator, options: options)[0]
                } catch  where error.code == .emptyText {
                    // Nothing to score once normalised (`&nbsp;`): a fault of the record, as over HTTP (400
                    // empty_text), not a failure to retry.
                    out[index].error = RecordError(code: "empty_text", message: "the text is empty once normalised")
                } catch {
                    out[index].error = RecordError(code: "scoring_failed", message: error.description)
                }
            }
        }
        if explain { await Self.explain(&out, moderator: moderator, options: options) }
        return out
    }

    /// Explains the flagged records of a scored group with one `explain` call (retrying while the queue is
    /// full). A group whose explanation fails is written with its scores and no highlights.
    static func explain(_ records: inout [ScoredRecord], moderator: Moderator, options: Moderator.Options) async {
        let flagged = records.indices.filter { records[$0].result?.flags.contains(true) == true }
        guard !flagged.isEmpty else { return }
        let texts = flagged.map { records[$0].record.text ?? "" }
        let scores = flagged.map { records[$0].result?.scores ?? [] }
        guard
            let explanations = try? await retrying({ () async throws(ModerationError) in try await moderator.explain(texts, scores: scores, options: options) })
        else { return }
        for (index, explanation) in zip(flagged, explanations) { records[index].explanation = explanation }
    }

    private static func moderate(_ texts: [String], moderator: Moderator, options: Moderator.Options) async throws(ModerationError) -> [Moderator.Result] {
        try await retrying { () async throws(ModerationError) in try await moderator.moderate(texts, options: options).results }
    }

    /// `body`'s result, called again while the queue is full (waiting as the engine advises).
    private static func retrying<T>(_ body: () async throws(ModerationError) -> T) async throws(ModerationError) -> T {
        while true {
            do {
                return try await body()
            } catch  where error.code == .overloaded {
                // The queue is full (long texts need many windows): wait as advised and retry.
                try? await Task.sleep(for: error.retryAfter ?? .milliseconds(10))
                if Task.isCancelled { throw error }
            }
        }
    }
}

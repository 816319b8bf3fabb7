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
/// - Important: the reader, writer and totals are confined to ``run()``; read the totals only after
///   ``run()`` returned (hence `@unchecked Sendable`).
public final class ScoreJob: Service, @unchecked Sendable {
    public let reader: RecordReader
    public let writer: RecordWriter
    public let engine: ModerationEngine
    public let options: ModerationOptions
    public let settings: ScoreJobSettings

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
        var result: ModerationResult?
        var error: RecordError?
    }

    private let stopRequested = Atomic<Bool>(false)
    private var progress: ProgressDisplay

    /// A job that reads `reader`, scores through `engine` (which runs beside it, before it in the service
    /// group) with `options`, and writes to `writer`.
    public init(reader: RecordReader, writer: RecordWriter, engine: ModerationEngine, options: ModerationOptions, settings: ScoreJobSettings) {
        self.reader = reader
        self.writer = writer
        self.engine = engine
        self.options = options
        self.settings = settings
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
        // --resume: skip what the output already has.
        while tally.resumedAfter < settings.resumeAfter {
            if shouldStop { interrupted = true; return }
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
        let isGzip = reader.source.isGzip
        var progressBytes: Int64 = 0
        try await withThrowingTaskGroup(of: (Int, [ScoredRecord]).self) { group in
            var nextGroup = 0
            var nextToWrite = 0
            var inFlight = 0      // submitted, not answered
            var unwritten = 0     // read, not written
            var buffered = 0      // bytes of the records read, not written
            var inputEnded = false
            var readThisRun = 0
            var finished: [Int: [ScoredRecord]] = [:]
            // Read one more record only while one of the largest size still fits in the byte bound.
            let largest = reader.settings.maxRecordBytes
            func roomForAnother(_ bytes: Int) -> Bool { bytes == 0 || bytes <= settings.maxBufferedBytes - largest }
            while true {
                // Keep the window full.
                while !inputEnded, inFlight < settings.window, unwritten < settings.reorderLimit, roomForAnother(buffered) {
                    if shouldStop {
                        interrupted = true
                        inputEnded = true
                        break
                    }
                    var chunk: [InputRecord] = []
                    var chunkBytes = 0
                    chunk.reserveCapacity(settings.groupSize)
                    while chunk.count < settings.groupSize, roomForAnother(buffered + chunkBytes) {
                        if let max = settings.maxRecords, readThisRun >= max { inputEnded = true; break }
                        let record: InputRecord?
                        do {
                            record = try reader.next()
                        } catch {
                            inputError = error as? ScoreIOError ?? ScoreIOError("\(error)")
                            record = nil
                        }
                        guard let record else { inputEnded = true; break }
                        readThisRun += 1
                        chunkBytes += record.heldBytes
                        chunk.append(record)
                    }
                    guard !chunk.isEmpty else { break }
                    let index = nextGroup
                    nextGroup += 1
                    inFlight += chunk.count
                    unwritten += chunk.count
                    buffered += chunkBytes
                    tally.bufferedBytesHighWater = max(tally.bufferedBytesHighWater, buffered)
                    group.addTask {
                        (index, await Self.score(chunk, moderator: moderator, options: options))
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
                    try writer.flush()
                    lastFlush = clock.now
                }
            }
        }
        try writer.flush()
        progress.update(records: tally.records, bytes: progressBytes, force: true)
        progress.finish()
    }

    private func write(_ item: ScoredRecord) throws {
        tally.records += 1
        tally.lastRecord = item.record.number
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
        try writer.write(item.record, result: result, error: nil)
        tally.written += 1
    }

    /// Scores the valid records of one group with one `moderate` call (retrying while the queue is
    /// full); if that call fails, each record is tried alone so one bad text cannot fail its neighbours.
    static func score(_ chunk: [InputRecord], moderator: Moderator, options: ModerationOptions) async -> [ScoredRecord] {
        var out = chunk.map { ScoredRecord(record: $0, result: nil, error: $0.error) }
        let valid = chunk.indices.filter { chunk[$0].error == nil && chunk[$0].text != nil }
        guard !valid.isEmpty else { return out }
        do {
            let results = try await moderate(valid.map { chunk[$0].text! }, moderator: moderator, options: options)
            for (position, index) in valid.enumerated() { out[index].result = results[position] }
        } catch {
            for index in valid {
                do {
                    out[index].result = try await moderate([chunk[index].text!], moderator: moderator, options: options)[0]
                } catch {
                    out[index].error = RecordError(code: "scoring_failed", message: error.description)
                }
            }
        }
        return out
    }

    private static func moderate(_ texts: [String], moderator: Moderator, options: ModerationOptions) async throws(ModerationError) -> [ModerationResult] {
        while true {
            do {
                return try await moderator.moderate(texts, options: options).results
            } catch where error.code == .overloaded {
                // The queue is full (long texts need many windows): wait as advised and retry.
                try? await Task.sleep(for: error.retryAfter ?? .milliseconds(10))
                if Task.isCancelled { throw error }
            }
        }
    }
}

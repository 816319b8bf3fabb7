import Crypto
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import WardenCore

/// Scores a sampled share of live requests again with a candidate model (the shadow), after the served model
/// has answered, and records per category where the two decide differently. It never changes or delays a
/// response: ``offer(id:texts:options:primary:)`` only appends to a bounded queue and returns; when the queue
/// is full, or the shadow refuses work (overloaded, past its deadline), the sample is dropped and counted.
///
/// The shadow runs its own ``ModerationEngine`` (own backends and batcher) on the bulk lane. Run the scorer as
/// a service: it runs the shadow engine too, and stops it at graceful shutdown (samples still queued are
/// dropped and counted).
///
/// Metrics, per category shared by both models (``ModelBundle/sharedCategories(with:)``), named as the served
/// model's label: `warden_shadow_decisions_total{category,outcome}` with outcome `agree`, `primary_only` (only
/// the served model flagged) or `shadow_only`; `warden_shadow_abs_score_diff_sum{category}` (divide by the
/// decisions to get the mean absolute score difference); and `warden_shadow_samples_total{outcome}`, outcome
/// `scored`, `dropped` or `failed`. The shadow engine's own series (batches, queue, `warden_shadow_model_info`)
/// carry the `warden_shadow_` prefix when its configuration says so (``EngineConfiguration/metricsPrefix``).
public final class ShadowScorer: Service, Sendable {
    /// One sampled request waiting for the shadow.
    struct Sample: Sendable {
        let id: String
        let texts: [String]
        let options: Moderator.Options
        let primary: [Moderator.Result]
    }

    /// The shadow model's engine.
    public let engine: ModerationEngine
    /// The share of requests sampled, in (0, 1].
    public let rate: Double
    /// Most samples waiting; more are dropped.
    public let capacity: Int
    /// Most samples scored at once (the shadow batcher packs them together).
    public let concurrency: Int

    /// (served model's label index, shadow's label index, served label name), per shared category.
    private let pairs: [(primary: Int, shadow: Int, name: String)]
    /// Threshold overrides of a request, by the served model's label, carried over to the shadow's label.
    private let thresholdNames: [String: String]
    private let log: ShadowLog?
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeups = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    private let categories: [String]
    private let instruments = Mutex<ShadowMetrics?>(nil)
    /// Made on first use, after the server has bootstrapped its metrics factory (instruments made before
    /// record nothing).
    private var metrics: ShadowMetrics {
        instruments.withLock { made in
            if let made { return made }
            let fresh = ShadowMetrics(categories: categories)
            made = fresh
            return fresh
        }
    }

    private struct State {
        var queue: [Sample] = []
        var stopped = false
    }

    /// A scorer comparing the shadow `engine` with the model described by `primary`.
    ///
    /// - Parameters:
    ///   - rate: the share of requests sampled, in (0, 1].
    ///   - log: where disagreements are written as JSON Lines, if anywhere.
    /// - Throws: ``ShadowError`` when the two models share no category or `rate` is out of range.
    public init(
        engine: ModerationEngine, comparingWith primary: ModelBundle, rate: Double, capacity: Int = 64, concurrency: Int = 8,
        log: ShadowLog? = nil, logger: Logger = Logger(label: "warden.shadow")
    ) throws(ShadowError) {
        guard rate > 0, rate <= 1 else { throw ShadowError("the shadow rate must be above 0 and at most 1 (got \(rate))") }
        let shadow = engine.initialBundle
        let shared = primary.sharedCategories(with: shadow)
        guard !shared.isEmpty else {
            throw ShadowError(
                "the shadow model \(shadow.name) shares no category with \(primary.name) (\(shadow.labels.joined(separator: ", ")) against \(primary.labels.joined(separator: ", ")))"
            )
        }
        self.pairs = shared.map { (primary.labels.firstIndex(of: $0.a)!, shadow.labels.firstIndex(of: $0.b)!, $0.a) }
        self.engine = engine
        self.rate = rate
        self.capacity = max(1, capacity)
        self.concurrency = max(1, concurrency)
        self.log = log
        self.logger = logger
        self.categories = pairs.map(\.name)
        self.thresholdNames = Dictionary(uniqueKeysWithValues: shared.map { ($0.a, $0.b) })
    }

    /// Samples the request (at ``rate``) and queues it for the shadow; returns at once. Call it after the
    /// response is computed. A full queue, or a shadow not yet warm or stopped, drops the sample (counted).
    public func offer(id: String, texts: [String], options: Moderator.Options, primary: [Moderator.Result]) {
        guard Double.random(in: 0..<1) < rate else { return }
        var shadowOptions = Moderator.Options(lane: .bulk)
        for (name, value) in options.thresholds { if let mapped = thresholdNames[name] { shadowOptions.thresholds[mapped] = value } }
        let sample = Sample(id: id, texts: texts, options: shadowOptions, primary: primary)
        // A shadow not yet warm takes nothing.
        let queued =
            engine.moderator != nil
            && state.withLock { state in
                guard !state.stopped, state.queue.count < capacity else { return false }
                state.queue.append(sample)
                return true
            }
        guard queued else {
            metrics.dropped.increment()
            return
        }
        wakeups.continuation.yield()
    }

    /// Samples waiting for the shadow now.
    public var queued: Int { state.withLock { $0.queue.count } }

    /// Runs the shadow engine and scores queued samples, at most ``concurrency`` at once, until graceful
    /// shutdown or cancellation.
    public func run() async throws {
        let engine = engine
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await engine.run() }
            let moderator: Moderator
            do {
                moderator = try await engine.ready()
            } catch {
                logger.error("the shadow model did not load; no sample will be scored", metadata: ["error": "\(error)"])
                stop()
                try await group.waitForAll()
                return
            }
            logger.info("shadow model ready", metadata: ["model": "\(engine.bundle.name)", "version": "\(engine.bundle.version)", "rate": "\(rate)"])
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { scoring in
                    var running = 0
                    let done = AsyncStream<Void>.makeStream()
                    var finished = done.stream.makeAsyncIterator()
                    for await _ in wakeups.stream {
                        while let sample = state.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) {
                            if running == concurrency {
                                await finished.next()
                                running -= 1
                            }
                            running += 1
                            scoring.addTask {
                                await self.score(sample, on: moderator)
                                done.continuation.yield()
                            }
                        }
                    }
                }
            } onGracefulShutdown: {
                self.stop()
            }
            try await group.waitForAll()
        }
    }

    /// Stops taking samples; those still queued are dropped (counted).
    private func stop() {
        let dropped = state.withLock { state in
            state.stopped = true
            defer { state.queue = [] }
            return state.queue.count
        }
        if dropped > 0 { metrics.dropped.increment(by: dropped) }
        wakeups.continuation.finish()
    }

    private func score(_ sample: Sample, on moderator: Moderator) async {
        let outcome: Moderator.Outcome
        do {
            outcome = try await moderator.moderate(sample.texts, options: sample.options)
        } catch let error where error.code == .overloaded || error.code == .deadlineExceeded || error.code == .shuttingDown {
            metrics.dropped.increment()
            return
        } catch {
            metrics.failed.increment()
            logger.debug("shadow scoring failed", metadata: ["id": "\(sample.id)", "error": "\(error)"])
            return
        }
        metrics.scored.increment()
        for (index, (primary, shadow)) in zip(sample.primary, outcome.results).enumerated() {
            var disagreements: [String] = []
            for (category, pair) in pairs.enumerated() {
                let (a, b) = (primary.flags[pair.primary], shadow.flags[pair.shadow])
                metrics.record(category: category, primary: a, shadow: b, difference: abs(primary.scores[pair.primary] - shadow.scores[pair.shadow]))
                if a != b { disagreements.append(pair.name) }
            }
            if !disagreements.isEmpty, let log {
                log.write(
                    id: sample.id, index: index, text: sample.texts[index], disagreements: disagreements,
                    primary: Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, primary.scores[$0.primary]) }),
                    shadow: Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, shadow.scores[$0.shadow]) }))
            }
        }
    }
}

/// The shadow's Prometheus series.
private struct ShadowMetrics: Sendable {
    let scored = Counter(label: "warden_shadow_samples_total", dimensions: [("outcome", "scored")])
    let dropped = Counter(label: "warden_shadow_samples_total", dimensions: [("outcome", "dropped")])
    let failed = Counter(label: "warden_shadow_samples_total", dimensions: [("outcome", "failed")])
    /// Per category: agree, primary_only, shadow_only, and the sum of |Δscore|.
    let decisions: [(agree: Counter, primaryOnly: Counter, shadowOnly: Counter, difference: FloatingPointCounter)]

    init(categories: [String]) {
        decisions = categories.map { category in
            (
                Counter(label: "warden_shadow_decisions_total", dimensions: [("category", category), ("outcome", "agree")]),
                Counter(label: "warden_shadow_decisions_total", dimensions: [("category", category), ("outcome", "primary_only")]),
                Counter(label: "warden_shadow_decisions_total", dimensions: [("category", category), ("outcome", "shadow_only")]),
                FloatingPointCounter(label: "warden_shadow_abs_score_diff_sum", dimensions: [("category", category)])
            )
        }
    }

    func record(category: Int, primary: Bool, shadow: Bool, difference: Float) {
        let series = decisions[category]
        switch (primary, shadow) {
        case (true, false): series.primaryOnly.increment()
        case (false, true): series.shadowOnly.increment()
        default: series.agree.increment()
        }
        series.difference.increment(by: Double(difference))
    }
}

/// Disagreements between the served and the shadow model as JSON Lines: one line per text where some
/// category's decision differs, with both models' scores and, by default, a SHA-256 of the text instead of
/// the text itself.
public final class ShadowLog: Sendable {
    private let handle: Mutex<FileHandle>
    /// Whether the text itself is written (else only its hash).
    public let includesText: Bool

    /// Opens (creating, appending to) the log at `path`.
    public init(path: String, includesText: Bool) throws(ShadowError) {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw ShadowError("cannot create the shadow log \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ShadowError("cannot open the shadow log \(path) for writing") }
        handle.seekToEndOfFile()
        self.handle = Mutex(handle)
        self.includesText = includesText
    }

    func write(id: String, index: Int, text: String, disagreements: [String], primary: [String: Float], shadow: [String: Float]) {
        var record: [String: Any] = [
            "time": Date().formatted(.iso8601), "id": id, "index": index, "categories": disagreements,
            "primary": primary.mapValues(Double.init), "shadow": shadow.mapValues(Double.init),
            "text_sha256": SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined(),
        ]
        if includesText { record["text"] = text }
        guard var line = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        handle.withLock { $0.write(line) }
    }
}

/// A shadow setting that cannot be used.
public struct ShadowError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

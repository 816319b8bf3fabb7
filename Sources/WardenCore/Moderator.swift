import Metrics
import Synchronization
import WordPiece

/// The moderation façade used by the HTTP server and the CLI: texts in, per-label scores and flags out.
///
/// For each text it normalises (as in training), consults the result cache, tokenizes on the calling task
/// (no lock held), applies the long-text policy, submits the model inputs of the whole request to the
/// ``Batcher`` as one unit, and merges windows with the per-label maximum.
///
/// A text with nothing to score once normalised and tokenized is refused with
/// ``ModerationError/Code/emptyText``: this is the one place that rule lives (the server and the CLI only
/// map the error).
public final class Moderator: Sendable {
    /// Output labels, in the model's order.
    public let labels: [String]
    /// Default thresholds, in label order.
    public let thresholds: [Float]
    public let maxSequenceLength: Int
    public let textNormalization: TextNormalization
    public let configuration: ModeratorConfiguration
    public let batcher: Batcher

    let tokenizer: WordPieceTokenizer
    private let cache: Mutex<LRUCache<String, CachedScores>>
    private let cacheEnabled: Bool
    private let labelIndex: [String: Int]

    struct CachedScores: Sendable {
        var scores: [Float]
        var truncated: Bool
        var windows: Int
    }

    /// A moderator for the model described by `bundle`.
    ///
    /// - Throws: when the configuration does not validate for the bundle's maximum length, or the bundle's
    ///   label count differs from the backend's.
    public convenience init(
        tokenizer: WordPieceTokenizer, bundle: ModelBundle, batcher: Batcher,
        configuration: ModeratorConfiguration = ModeratorConfiguration()
    ) throws(ConfigurationError) {
        try self.init(
            tokenizer: tokenizer, labels: bundle.labels, thresholds: bundle.thresholds,
            maxSequenceLength: bundle.maxSequenceLength, textNormalization: bundle.textNormalization,
            batcher: batcher, configuration: configuration)
    }

    /// A moderator from the model's facts given one by one (tests, custom deployments).
    public convenience init(
        tokenizer: WordPieceTokenizer, labels: [String], thresholds: [Float], maxSequenceLength: Int,
        textNormalization: TextNormalization, batcher: Batcher,
        configuration: ModeratorConfiguration = ModeratorConfiguration()
    ) throws(ConfigurationError) {
        try configuration.validate(maxSequenceLength: maxSequenceLength)
        try ConfigurationError.check(
            labels.count == batcher.labelCount, "labels",
            "the model bundle names \(labels.count) labels but the backend returns \(batcher.labelCount) scores per item")
        try ConfigurationError.check(
            thresholds.count == labels.count, "thresholds",
            "needs one threshold per label (\(labels.count)), got \(thresholds.count)")
        self.init(
            validated: configuration, tokenizer: tokenizer, labels: labels, thresholds: thresholds,
            maxSequenceLength: maxSequenceLength, textNormalization: textNormalization, batcher: batcher)
    }

    /// A moderator whose configuration and label counts its owner (``ModerationEngine``) has already checked.
    init(
        validated configuration: ModeratorConfiguration, tokenizer: WordPieceTokenizer, labels: [String], thresholds: [Float],
        maxSequenceLength: Int, textNormalization: TextNormalization, batcher: Batcher
    ) {
        self.tokenizer = tokenizer
        self.labels = labels
        self.thresholds = thresholds
        self.maxSequenceLength = maxSequenceLength
        self.textNormalization = textNormalization
        self.batcher = batcher
        self.configuration = configuration
        self.cache = Mutex(LRUCache(capacity: configuration.cacheCapacity))
        self.cacheEnabled = configuration.cacheCapacity > 0
        self.labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
    }

    /// Scores `texts` and applies thresholds (the model's defaults, overridden per label by `options`).
    ///
    /// The texts of one call are admitted to the queue together and answered together.
    /// - Throws: `invalidThreshold` (unknown label, value outside 0...1), `emptyText` (a text with nothing to
    ///   score once normalised; nothing of the request is scored), and the ``Batcher`` errors:
    ///   `overloaded` (with `retryAfter`), `requestTooLarge`, `deadlineExceeded`, `cancelled`,
    ///   `shuttingDown`, `backendFailure`.
    public func moderate(_ texts: [String], options: Moderator.Options = Moderator.Options()) async throws(ModerationError) -> Moderator.Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let thresholds = try resolveThresholds(options.thresholds)
        let metrics = batcher.metrics

        // Normalise, look up, tokenize (on this task, no lock held but the cache's, briefly).
        enum Source { case cached(CachedScores), job(Int) }
        struct Job {
            var key: String
            var first: Int
            var count: Int
            var truncated: Bool
        }
        var sources: [Source] = []
        sources.reserveCapacity(texts.count)
        var jobs: [Job] = []
        var jobOfText: [String: Int] = [:]
        var sequences: [[Int32]] = []
        var hits = 0, misses = 0
        for (index, text) in texts.enumerated() {
            let normalized = normalizeText(text, textNormalization)
            if let job = jobOfText[normalized] {
                sources.append(.job(job))
                continue
            }
            if cacheEnabled, normalized.utf8.count <= configuration.cacheMaxTextBytes {
                if let hit = cache.withLock({ $0.value(for: normalized) }) {
                    hits += 1
                    sources.append(.cached(hit))
                    continue
                }
                misses += 1
            }
            let pieces = tokenizer.wordPieceIDs(normalized)
            if pieces.isEmpty { throw .emptyText(index: index) }
            let split = Windowing.split(
                pieces, maxSequenceLength: maxSequenceLength,
                policy: configuration.longTextPolicy, maxWindows: configuration.maxWindowsPerText,
                cls: tokenizer.clsID, sep: tokenizer.sepID)
            jobOfText[normalized] = jobs.count
            sources.append(.job(jobs.count))
            jobs.append(Job(key: normalized, first: sequences.count, count: split.sequences.count, truncated: split.truncated))
            sequences.append(contentsOf: split.sequences)
        }
        if hits > 0 { metrics.cacheHits.increment(by: hits) }
        if misses > 0 { metrics.cacheMisses.increment(by: misses) }
        let tokenized = clock.now
        let tokenize = start.duration(to: tokenized)

        // Score everything not cached as one request, on the lane asked for or the one its cost fits.
        let lane = options.lane ?? lane(forTokens: sequences.reduce(0) { $0 + $1.count })
        var scored: Batcher.Scores = Batcher.Scores(rows: [], queueWait: .zero, inference: .zero)
        if !sequences.isEmpty {
            var deadline = options.deadline
            if let requested = deadline {
                deadline = requested - tokenize
                if deadline! <= .zero { throw .deadlineExceeded(requested) }
            }
            scored = try await batcher.score(sequences, lane: lane, deadline: deadline)
        }

        var merged: [CachedScores] = []
        merged.reserveCapacity(jobs.count)
        for job in jobs {
            let scores = Windowing.merge(scored.rows[job.first..<(job.first + job.count)])
            let entry = CachedScores(scores: scores, truncated: job.truncated, windows: job.count)
            merged.append(entry)
            if cacheEnabled, job.key.utf8.count <= configuration.cacheMaxTextBytes {
                cache.withLock { $0.insert(entry, for: job.key) }
            }
        }

        let results = sources.map { source -> Moderator.Result in
            let (entry, cached): (CachedScores, Bool) =
                switch source {
                case .cached(let entry): (entry, true)
                case .job(let job): (merged[job], false)
                }
            let flags = zip(entry.scores, thresholds).map { $0 >= $1 }
            return Moderator.Result(
                scores: entry.scores, flags: flags,
                flagged: flags.contains(true) || (configuration.flagPartiallyScored && entry.truncated),
                truncated: entry.truncated, windows: entry.windows, cached: cached)
        }
        metrics.latency(lane).record(duration: start.duration(to: clock.now))
        return Moderator.Outcome(
            results: results,
            timings: Moderator.Timings(tokenize: tokenize, queue: scored.queueWait, inference: scored.inference))
    }

    /// The lane a request of `tokens` tokens takes when its caller did not choose: interactive while it fits
    /// that lane's per-request cap, else bulk.
    public func lane(forTokens tokens: Int) -> Lane {
        tokens <= batcher.configuration.interactive.maxRequestTokens ? .interactive : .bulk
    }

    /// The thresholds in label order after applying `overrides`.
    public func resolveThresholds(_ overrides: [String: Float]) throws(ModerationError) -> [Float] {
        var resolved = thresholds
        for (label, value) in overrides {
            guard let index = labelIndex[label] else { throw .unknownLabel(label, known: labels) }
            guard value.isFinite, (0...1).contains(value) else { throw .thresholdOutOfRange(label, value) }
            resolved[index] = value
        }
        return resolved
    }
}

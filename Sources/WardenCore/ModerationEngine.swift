import Logging
import ServiceLifecycle
import Synchronization
import WordPiece

/// The moderation engine, assembled in one place for every mode (`warden serve`, `score`, `tune`, the
/// benchmarks, tests): from a model bundle and an ``EngineConfiguration`` it validates everything once,
/// loads the backends through an ``InferenceBackendFactory``, builds the ``Batcher`` and the ``Moderator``,
/// warms up, reports readiness, and runs the batcher until graceful shutdown.
///
/// Construction is cheap and fails at once on a bad bundle, tokenizer or configuration; the model loads in
/// ``run()``, so a server can already answer health checks while it loads. Users of the engine get the
/// ``Moderator`` from ``ready()`` (waits until warm) or ``moderator`` (nil until warm).
///
/// - Important: In a `ServiceGroup`, place the engine *before* the services that use it: services shut
///   down in reverse order, so its users (the HTTP server, a file job) finish first, then the batcher
///   finishes what was admitted and stops.
public final class ModerationEngine: Service, Sendable {
    /// Where the engine stands.
    public enum Phase: Sendable, Equatable {
        /// Not started, or loading the model.
        case loading
        /// The model is loaded; warm-up texts are being scored.
        case warmingUp
        /// Warm and serving.
        case ready
        /// Loading or warm-up failed; the reason is for logs and readiness answers.
        case failed(String)
        /// ``run()`` returned (graceful shutdown or cancellation).
        case stopped
    }

    /// The model bundle served.
    public let bundle: ModelBundle
    /// The bundle's tokenizer (checked against the manifest).
    public let tokenizer: WordPieceTokenizer
    /// The validated configuration.
    public let configuration: EngineConfiguration

    private let backendFactory: any InferenceBackendFactory
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var phase: Phase = .loading
        var moderator: Moderator?
        var runtime: RuntimeInfo?
        var packingCost: PackingCostModel?
        var packingSamples: [PackingCostModel.Sample] = []
        var started = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Moderator, any Error>] = [:]
    }

    /// An engine for `bundle`.
    ///
    /// - Parameters:
    ///   - backends: makes `configuration.workers` backends for the bundle when ``run()`` starts.
    /// - Throws: ``EngineError`` when the tokenizer does not match the manifest or the configuration does
    ///   not fit the model.
    public init(
        bundle: ModelBundle, tokenizer: WordPieceTokenizer, configuration: EngineConfiguration = EngineConfiguration(),
        backends: any InferenceBackendFactory, logger: Logger = Logger(label: "warden.engine")
    ) throws(EngineError) {
        do {
            try bundle.check(tokenizer: tokenizer)
        } catch {
            throw EngineError(.bundle(error))
        }
        do {
            try configuration.validate(maxSequenceLength: bundle.maxSequenceLength)
        } catch {
            throw EngineError(.configuration(error))
        }
        self.bundle = bundle
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.backendFactory = backends
        self.logger = logger
    }

    /// An engine for the bundle in `modelDirectory` (manifest and tokenizer read and checked now).
    public convenience init(
        modelDirectory: String, configuration: EngineConfiguration = EngineConfiguration(),
        backends: any InferenceBackendFactory, logger: Logger = Logger(label: "warden.engine")
    ) throws(EngineError) {
        let bundle: ModelBundle
        do {
            bundle = try ModelBundle.load(directory: modelDirectory)
        } catch {
            throw EngineError(.bundle(error))
        }
        let tokenizer: WordPieceTokenizer
        do {
            tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
        } catch {
            throw EngineError(.tokenizer(error))
        }
        try self.init(bundle: bundle, tokenizer: tokenizer, configuration: configuration, backends: backends, logger: logger)
    }

    /// Where the engine stands now.
    public var phase: Phase { state.withLock { $0.phase } }

    /// How the loaded backends compute: the precision in use (the bundle's stated one when a backend does not
    /// say) and the BLAS kernels; nil until the model is loaded.
    public var runtime: RuntimeInfo? { state.withLock { $0.runtime } }

    /// The cost model packed batches choose their row width by, fitted at warm-up (nil before, when the
    /// batches do not pack, when rows have a fixed width, or when there is no warm-up).
    public var packingCost: PackingCostModel? { state.withLock { $0.packingCost } }

    /// The timed forwards ``packingCost`` was fitted to (empty when no fit ran).
    public var packingSamples: [PackingCostModel.Sample] { state.withLock { $0.packingSamples } }

    /// The moderator once the engine is warm; nil before.
    public var moderator: Moderator? { state.withLock { $0.phase == .ready ? $0.moderator : nil } }

    /// Waits until the engine is warm and returns its moderator.
    ///
    /// - Throws: ``EngineError`` when loading or warm-up failed, or the engine stopped first;
    ///   `CancellationError` when the calling task is cancelled while waiting.
    public func ready() async throws -> Moderator {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Moderator, any Error>) in
                let outcome: Result<Moderator, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    switch state.phase {
                    case .ready: return .success(state.moderator!)
                    case .failed(let reason): return .failure(EngineError(.failed(reason)))
                    case .stopped: return .failure(EngineError(.stopped))
                    case .loading, .warmingUp:
                        state.waiters[id] = continuation
                        return nil
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Loads the backends, warms up, reports ready, then runs the batcher until graceful shutdown (it then
    /// finishes the work already admitted) or cancellation.
    ///
    /// - Precondition: called at most once.
    public func run() async throws {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        precondition(first, "ModerationEngine.run() may be called only once")
        defer { finish(.stopped, error: EngineError(.stopped)) }

        let clock = ContinuousClock()
        let start = clock.now
        let backends: [any InferenceBackend]
        do {
            backends = try await backendFactory.makeBackends(for: bundle, count: configuration.workers)
            try Self.check(backends, against: bundle)
        } catch {
            let failure = error as? EngineError ?? EngineError(.load(path: bundle.modelPath, reason: "\(error)"))
            fail(failure, "model failed to load")
            throw failure
        }
        let batcher = Batcher(validated: configuration.batching, backends: backends, padID: tokenizer.padID, logger: logger)
        let moderator = Moderator(
            validated: configuration.moderator, tokenizer: tokenizer, labels: bundle.labels,
            thresholds: bundle.thresholds, maxSequenceLength: bundle.maxSequenceLength,
            textNormalization: bundle.textNormalization, batcher: batcher)
        let reported = backends[0].runtimeInfo
        let runtime = RuntimeInfo(precision: reported.precision ?? bundle.precision, blasCore: reported.blasCore)
        EngineMetrics.record(runtime)
        logger.info(
            "model loaded",
            metadata: [
                "model": "\(bundle.name)", "version": "\(bundle.version)", "precision": "\(runtime.precision ?? bundle.precision)",
                "blas_core": "\(runtime.blasCore ?? "none")",
                "workers": "\(backends.count)", "load_ms": "\(Int(start.duration(to: clock.now).milliseconds))",
            ])
        state.withLock {
            $0.runtime = runtime
            $0.phase = .warmingUp
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await batcher.run() }
            let warmStart = clock.now
            do throws(ModerationError) {
                try await warmUp(moderator, batcher: batcher, tokenizer: tokenizer)
                if batcher.packs && configuration.batching.packedRowWidth == .fitted {
                    // A preset model is packed by as it is; otherwise one is fitted, when there is a warm-up.
                    let (samples, cost): ([PackingCostModel.Sample], PackingCostModel?) =
                        if let preset = configuration.batching.packingCost {
                            ([], preset)
                        } else if configuration.warmUpTexts.isEmpty {
                            ([], nil)
                        } else {
                            await fitPackingCost(backends[0], tokenizer: tokenizer)
                        }
                    batcher.packingCost = cost
                    state.withLock {
                        $0.packingCost = cost
                        $0.packingSamples = samples
                    }
                }
            } catch  where error.code == .shuttingDown || error.code == .cancelled {
                // Shutdown began during warm-up: nothing was admitted from outside; stop quietly.
                try await group.waitForAll()
                return
            } catch {
                let failure = EngineError(.warmUp(error))
                fail(failure, "warm-up failed")
                group.cancelAll()
                throw failure
            }
            if !configuration.warmUpTexts.isEmpty {
                logger.info(
                    "warm-up done",
                    metadata: [
                        "warmup_ms": "\(Int(warmStart.duration(to: clock.now).milliseconds))",
                        "interactive_tokens_per_s": "\(Int(batcher.measuredTokensPerSecond(.interactive) ?? 0))",
                        "bulk_tokens_per_s": "\(Int(batcher.measuredTokensPerSecond(.bulk) ?? 0))",
                    ])
            }
            markReady(moderator)
            try await group.waitForAll()
        }
    }

    /// Scores the warm-up texts one at a time (so even tiny admission bounds accept them), several lengths,
    /// then one full bulk batch (distinct windows of the longest text, as many as a batch holds), twice. The
    /// first pass, through the moderator, pays one-off costs (graph optimisation for each new input shape,
    /// allocations), so the batcher's throughput estimates are reset after it; the second, straight to the
    /// batcher (the cache would answer it), gives the rates that admission and the bulk batch cap start from.
    /// A bulk rate measured on small or cold batches would be far too slow, and admission, refusing every
    /// large request, would never measure a better one.
    private func warmUp(_ moderator: Moderator, batcher: Batcher, tokenizer: WordPieceTokenizer) async throws(ModerationError) {
        guard !configuration.warmUpTexts.isEmpty else { return }
        let longest = configuration.warmUpTexts.max { $0.utf8.count < $1.utf8.count } ?? ""
        let batching = configuration.batching
        let rows = max(1, min(batching.maxBatchSize, batching.maxBatchTokens / bundle.maxSequenceLength))
        // Distinct sequences: identical ones would be computed once.
        let full = (0..<rows).map { tokenizer.encode("\($0) \(longest)", maxLength: bundle.maxSequenceLength).ids }
        func fullBulkBatch() async throws(ModerationError) {
            do {
                _ = try await batcher.score(full, lane: .bulk, deadline: .seconds(300))
            } catch  where error.code == .requestTooLarge || error.code == .overloaded || error.code == .deadlineExceeded {
                // Tiny admission bounds, or a first estimate too slow to admit it: the bulk lane starts from
                // the interactive lane's rate.
            }
        }
        for text in configuration.warmUpTexts {
            _ = try await moderator.moderate([text], options: Moderator.Options(lane: .interactive, deadline: .seconds(300)))
        }
        try await fullBulkBatch()
        batcher.resetThroughputEstimate()
        for text in configuration.warmUpTexts {
            let ids = tokenizer.encode(text, maxLength: bundle.maxSequenceLength).ids
            _ = try await batcher.score([ids], lane: .interactive, deadline: .seconds(300))
        }
        try await fullBulkBatch()
    }

    /// Fits the packed forward's cost model on the first backend (``PackingCostModel/measure(on:batching:tokenIDs:padID:)``,
    /// with the warm-up text's ids), after the warm-up, while no batch is in flight. Returns the timed samples and
    /// the model, nil (rows keep their fixed width, and the log says why) when a forward fails or the times do not
    /// fit the model.
    private func fitPackingCost(
        _ backend: any InferenceBackend, tokenizer: WordPieceTokenizer
    ) async -> (samples: [PackingCostModel.Sample], model: PackingCostModel?) {
        let longest = configuration.warmUpTexts.max { $0.utf8.count < $1.utf8.count } ?? ""
        let ids = tokenizer.encode(longest, maxLength: bundle.maxSequenceLength).ids
        let clock = ContinuousClock()
        let start = clock.now
        let samples: [PackingCostModel.Sample]
        do {
            samples = try await PackingCostModel.measure(on: backend, batching: configuration.batching, tokenIDs: ids, padID: tokenizer.padID)
        } catch {
            logger.warning("packed row width stays fixed: a timed forward failed", metadata: ["error": "\(error)"])
            return ([], nil)
        }
        let shown = samples.map { "\($0.rows)x\($0.width): \(($0.seconds * 1e6).rounded() / 1000) ms" }.joined(separator: ", ")
        guard let model = PackingCostModel.fit(samples) else {
            logger.warning("packed row width stays fixed: the timed forwards do not fit a cost model", metadata: ["samples": "\(shown)"])
            return (samples, nil)
        }
        logger.info(
            "packing cost model",
            metadata: ["model": "\(model)", "fit_ms": "\(Int(start.duration(to: clock.now).milliseconds))", "samples": "\(shown)"])
        return (samples, model)
    }

    private static func check(_ backends: [any InferenceBackend], against bundle: ModelBundle) throws(EngineError) {
        guard !backends.isEmpty else { throw EngineError(.load(path: bundle.modelPath, reason: "no backend was created")) }
        for backend in backends where backend.labelCount != bundle.labels.count {
            throw EngineError(
                .load(
                    path: bundle.modelPath,
                    reason: "the model has \(backend.labelCount) outputs but its manifest names \(bundle.labels.count) labels"))
        }
    }

    private func markReady(_ moderator: Moderator) {
        let waiters = state.withLock { state in
            state.phase = .ready
            state.moderator = moderator
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: moderator) }
    }

    /// Records the failure (logged at notice: the error is thrown to the caller, who reports it).
    private func fail(_ error: EngineError, _ message: Logger.Message) {
        logger.notice(message, metadata: ["model": "\(bundle.modelPath)", "error": "\(error)"])
        finish(.failed(error.description), error: error)
    }

    /// Moves to a final phase (a failure is kept) and fails every waiter.
    private func finish(_ phase: Phase, error: EngineError) {
        let waiters = state.withLock { state in
            if case .failed = state.phase {} else { state.phase = phase }
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}

/// Why a ``ModerationEngine`` could not be built or could not start.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case bundle(ModelBundleError)
        case tokenizer(TokenizerError)
        case configuration(ConfigurationError)
        case load(path: String, reason: String)
        case warmUp(ModerationError)
        case failed(String)
        case stopped
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// The bundle's problem, when the manifest or its files are at fault.
    public var bundleError: ModelBundleError? {
        if case .bundle(let error) = kind { return error }
        return nil
    }

    /// The configuration's problem, when a setting is at fault.
    public var configurationError: ConfigurationError? {
        if case .configuration(let error) = kind { return error }
        return nil
    }

    public var description: String {
        switch kind {
        case .bundle(let error): error.description
        case .tokenizer(let error): error.description
        case .configuration(let error): error.description
        case .load(let path, let reason): "\(path): the model failed to load: \(reason)"
        case .warmUp(let error): "warm-up failed: \(error)"
        case .failed(let reason): reason
        case .stopped: "the moderation engine has stopped"
        }
    }
}

import Foundation
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
/// While it serves, ``reload(from:)`` (SIGHUP, `POST /admin/reload`) swaps in a new model without a restart:
/// the new bundle is loaded, checked and warmed beside the old one, and only then does ``moderator`` answer
/// with it. Requests already on the old model finish there; its batcher stops admitting work after
/// ``reloadGracePeriod`` and is released once drained, so memory holds at most two models.
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

    /// The bundle given at construction; ``bundle`` is the one served now.
    public let initialBundle: ModelBundle
    private let initialTokenizer: WordPieceTokenizer
    /// The validated configuration.
    public let configuration: EngineConfiguration

    /// How long a replaced model keeps admitting work after a reload (requests that picked it up just
    /// before the switch), before it drains and is released.
    public static let reloadGracePeriod: Duration = .seconds(2)

    private let backendFactory: any InferenceBackendFactory
    private let logger: Logger
    private let state = Mutex(State())
    /// The engine's instruments, made when used: instruments made before the process bootstraps its metrics
    /// factory would record nothing.
    private var metrics: EngineMetrics { EngineMetrics(prefix: configuration.metricsPrefix) }
    /// Wakes the run loop for a pending reload; finished at shutdown.
    private let reloadSignals = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    private struct State {
        var phase: Phase = .loading
        var served: ServedModel?
        var runtime: RuntimeInfo?
        /// The reload waiting for the run loop (at most one) and whether one is under way.
        var pendingReload: PendingReload?
        var reloading = false
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
        self.initialBundle = bundle
        self.initialTokenizer = tokenizer
        self.configuration = configuration
        self.backendFactory = backends
        self.logger = logger
    }

    /// An engine for the bundle in `modelDirectory` (manifest and tokenizer read and checked now).
    public convenience init(
        modelDirectory: String, configuration: EngineConfiguration = EngineConfiguration(),
        backends: any InferenceBackendFactory, logger: Logger = Logger(label: "warden.engine")
    ) throws(EngineError) {
        let (bundle, tokenizer) = try Self.readBundle(directory: modelDirectory)
        try self.init(bundle: bundle, tokenizer: tokenizer, configuration: configuration, backends: backends, logger: logger)
    }

    /// The model bundle served now: the one given at construction until a reload swaps in another.
    public var bundle: ModelBundle { state.withLock { $0.served?.bundle } ?? initialBundle }

    /// The served bundle's tokenizer.
    public var tokenizer: WordPieceTokenizer { state.withLock { $0.served?.tokenizer } ?? initialTokenizer }

    /// The model serving now, with its moderator, read together (nil until warm).
    public var served: ServedModel? { state.withLock { $0.phase == .ready ? $0.served : nil } }

    /// Where the engine stands now.
    public var phase: Phase { state.withLock { $0.phase } }

    /// How the loaded backends compute: the precision in use (the bundle's stated one when a backend does not
    /// say) and the BLAS kernels; nil until the model is loaded.
    public var runtime: RuntimeInfo? { state.withLock { $0.runtime } }

    /// The cost model packed batches choose their row width by, fitted at warm-up (nil before, when the
    /// batches do not pack, when rows have a fixed width, or when there is no warm-up).
    public var packingCost: PackingCostModel? { state.withLock { $0.served?.packingCost } }

    /// The timed forwards ``packingCost`` was fitted to (empty when no fit ran).
    public var packingSamples: [PackingCostModel.Sample] { state.withLock { $0.served?.packingSamples ?? [] } }

    /// The moderator once the engine is warm; nil before.
    public var moderator: Moderator? { served?.moderator }

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
                    case .ready: return .success(state.served!.moderator)
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

    /// Loads the backends, warms up, reports ready, then serves (swapping models on ``reload(from:)``) until
    /// graceful shutdown, when the batchers finish the work already admitted, or cancellation.
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
        // Held only until it serves: once replaced by a reload, nothing here keeps the first model alive.
        var initial: LoadedModel?
        do {
            initial = try await load(initialBundle, tokenizer: initialTokenizer)
        } catch {
            fail(error, "model failed to load")
            throw error
        }
        let runtime = initial!.runtime
        state.withLock {
            $0.runtime = runtime
            $0.phase = .warmingUp
        }

        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [batcher = initial!.batcher] in try await batcher.run() }
            let packing: PackingFit
            do throws(ModerationError) {
                packing = try await warm(initial!)
            } catch  where error.code == .shuttingDown || error.code == .cancelled {
                // Shutdown began during warm-up: nothing was admitted from outside; stop quietly (the group
                // waits for the batcher to drain).
                return
            } catch {
                let failure = EngineError(.warmUp(error))
                fail(failure, "warm-up failed")
                group.cancelAll()
                throw failure
            }
            markReady(initial!.serving(since: start, clock: clock, packing: packing))
            initial = nil
            // Serve, swapping models on request, until graceful shutdown or cancellation; the group then
            // waits for the batchers to drain.
            await withGracefulShutdownHandler {
                for await _ in reloadSignals.stream {
                    guard let request = state.withLock({ $0.pendingReload.take() }) else { continue }
                    let outcome = await swap(to: request.directory, group: &group)
                    state.withLock { $0.reloading = false }
                    request.continuation.resume(returning: outcome)
                }
            } onGracefulShutdown: { [reloadSignals] in
                reloadSignals.continuation.finish()
            }
        }
    }

    // MARK: - Reload

    /// Loads the bundle in `directory` (the served bundle's directory when nil), warms it beside the served
    /// model, then serves it. On failure the served model keeps serving, and the error says why.
    ///
    /// The new bundle must have the same labels as the served one (a different label set changes the API's
    /// shape: restart to change it), and fit the engine's configuration.
    ///
    /// - Throws: ``EngineError``: `reloadInProgress` when another reload is under way, `stopped` or
    ///   `failed` when the engine is not serving, else why the new model could not be loaded or warmed.
    @discardableResult
    public func reload(from directory: String? = nil) async throws(EngineError) -> ReloadReport {
        let result: Result<ReloadReport, EngineError> = await withCheckedContinuation { continuation in
            let refusal: EngineError? = state.withLock { state in
                switch state.phase {
                case .ready: break
                case .loading, .warmingUp: return EngineError(.reload("the engine is still loading its first model"))
                case .failed(let reason): return EngineError(.failed(reason))
                case .stopped: return EngineError(.stopped)
                }
                guard !state.reloading else { return EngineError(.reloadInProgress) }
                state.reloading = true
                state.pendingReload = PendingReload(directory: directory, continuation: continuation)
                return nil
            }
            if let refusal {
                logger.notice("model reload refused", metadata: ["error": "\(refusal)"])
                continuation.resume(returning: .failure(refusal))
            } else if case .terminated = reloadSignals.continuation.yield() {
                // Shutdown began: the run loop is gone.
                if let pending = state.withLock({ $0.pendingReload.take() }) { pending.continuation.resume(returning: .failure(EngineError(.stopped))) }
            }
        }
        return try result.get()
    }

    /// Loads, checks and warms the bundle in `directory` beside the served model, then switches to it; the
    /// replaced model's batcher drains after ``reloadGracePeriod``. Runs on the engine's run loop, one at a time.
    private func swap(to directory: String?, group: inout ThrowingDiscardingTaskGroup<any Error>) async -> Result<ReloadReport, EngineError> {
        let clock = ContinuousClock()
        let start = clock.now
        guard let previous = state.withLock({ $0.served }) else { return .failure(EngineError(.stopped)) }
        let path = directory ?? previous.bundle.directory
        let model: LoadedModel
        do throws(EngineError) {
            let (bundle, tokenizer) = try Self.readBundle(directory: path)
            guard bundle.labels == previous.bundle.labels, bundle.categoryNames == previous.bundle.categoryNames else {
                throw EngineError(
                    .reload(
                        "\(path): the model's labels (\(bundle.labels.joined(separator: ", "))) differ from the served model's (\(previous.bundle.labels.joined(separator: ", "))); restart to change the label set"
                    ))
            }
            do {
                try configuration.validate(maxSequenceLength: bundle.maxSequenceLength)
            } catch {
                throw EngineError(.configuration(error))
            }
            model = try await load(bundle, tokenizer: tokenizer)
        } catch {
            return reloadFailed(error, directory: path)
        }
        let batcher = model.batcher
        group.addTask { try await batcher.run() }
        let packing: PackingFit
        do throws(ModerationError) {
            packing = try await warm(model)
        } catch {
            batcher.drain()
            return reloadFailed(EngineError(.warmUp(error)), directory: path)
        }
        let served = model.serving(since: start, clock: clock, packing: packing)
        state.withLock {
            $0.served = served
            $0.runtime = model.runtime
        }
        metrics.recordServed(served, replacing: previous)
        logger.info(
            "model reloaded",
            metadata: [
                "model": "\(served.bundle.name)", "version": "\(served.bundle.version)", "previous": "\(previous.bundle.name) \(previous.bundle.version)",
                "reload_ms": "\(Int(served.loadDuration.milliseconds))",
            ])
        // Requests that picked up the old moderator just before the switch still reach its batcher; after the
        // grace period it stops admitting, finishes what it holds, and is released with its backends.
        let retired = previous.moderator.batcher
        group.addTask {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.reloadGracePeriod) }
            retired.drain()
        }
        return .success(ReloadReport(previous: previous.bundle, served: served))
    }

    private func reloadFailed(_ error: EngineError, directory: String) -> Result<ReloadReport, EngineError> {
        metrics.reloadFailed()
        logger.error("model reload failed; the served model keeps serving", metadata: ["model": "\(directory)", "error": "\(error)"])
        return .failure(error)
    }

    // MARK: - Loading

    /// A model with its backends, batcher and moderator, loaded but not serving.
    private struct LoadedModel: Sendable {
        let bundle: ModelBundle
        let tokenizer: WordPieceTokenizer
        let batcher: Batcher
        let moderator: Moderator
        let runtime: RuntimeInfo

        func serving(since start: ContinuousClock.Instant, clock: ContinuousClock, packing: PackingFit) -> ServedModel {
            ServedModel(
                bundle: bundle, tokenizer: tokenizer, moderator: moderator, runtime: runtime, loadedAt: Date(),
                loadDuration: start.duration(to: clock.now), packingCost: packing.cost, packingSamples: packing.samples)
        }
    }

    /// The packing cost model a warm-up fitted, and the timed forwards it was fitted to.
    private typealias PackingFit = (samples: [PackingCostModel.Sample], cost: PackingCostModel?)

    /// The bundle and tokenizer in `directory`, checked against each other.
    private static func readBundle(directory: String) throws(EngineError) -> (ModelBundle, WordPieceTokenizer) {
        let bundle: ModelBundle
        do {
            bundle = try ModelBundle.load(directory: directory)
        } catch {
            throw EngineError(.bundle(error))
        }
        let tokenizer: WordPieceTokenizer
        do {
            tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
            try bundle.check(tokenizer: tokenizer)
        } catch let error as TokenizerError {
            throw EngineError(.tokenizer(error))
        } catch let error as ModelBundleError {
            throw EngineError(.bundle(error))
        } catch {
            throw EngineError(.load(path: directory, reason: "\(error)"))
        }
        return (bundle, tokenizer)
    }

    /// Makes the backends for `bundle` and the batcher and moderator over them (the batcher not yet running).
    private func load(_ bundle: ModelBundle, tokenizer: WordPieceTokenizer) async throws(EngineError) -> LoadedModel {
        let clock = ContinuousClock()
        let start = clock.now
        let backends: [any InferenceBackend]
        do {
            backends = try await backendFactory.makeBackends(for: bundle, count: configuration.workers)
            try Self.check(backends, against: bundle)
        } catch {
            throw error as? EngineError ?? EngineError(.load(path: bundle.modelPath, reason: "\(error)"))
        }
        let batcher = Batcher(
            validated: configuration.batching, backends: backends, padID: tokenizer.padID, logger: logger, metrics: metrics)
        let moderator = Moderator(
            validated: configuration.moderator, tokenizer: tokenizer, labels: bundle.labels,
            thresholds: bundle.thresholds, maxSequenceLength: bundle.maxSequenceLength,
            textNormalization: bundle.textNormalization, batcher: batcher)
        let reported = backends[0].runtimeInfo
        let runtime = RuntimeInfo(precision: reported.precision ?? bundle.precision, blasCore: reported.blasCore)
        metrics.record(runtime)
        logger.info(
            "model loaded",
            metadata: [
                "model": "\(bundle.name)", "version": "\(bundle.version)", "precision": "\(runtime.precision ?? bundle.precision)",
                "blas_core": "\(runtime.blasCore ?? "none")",
                "workers": "\(backends.count)", "load_ms": "\(Int(start.duration(to: clock.now).milliseconds))",
            ])
        return LoadedModel(bundle: bundle, tokenizer: tokenizer, batcher: batcher, moderator: moderator, runtime: runtime)
    }

    /// Warms `model` (its batcher running), fits its packing cost model and returns the fit (none when the
    /// batches do not pack or rows have a fixed width).
    private func warm(_ model: LoadedModel) async throws(ModerationError) -> PackingFit {
        let clock = ContinuousClock()
        let warmStart = clock.now
        try await warmUp(model)
        let batcher = model.batcher
        var packing: PackingFit = ([], nil)
        if batcher.packs && configuration.batching.packedRowWidth == .fitted {
            // A preset model is packed by as it is; otherwise one is fitted, when there is a warm-up.
            packing =
                if let preset = configuration.batching.packingCost {
                    ([], preset)
                } else if configuration.warmUpTexts.isEmpty {
                    ([], nil)
                } else {
                    await fitPackingCost(model)
                }
            batcher.packingCost = packing.cost
        }
        if !configuration.warmUpTexts.isEmpty {
            logger.info(
                "warm-up done",
                metadata: [
                    "model": "\(model.bundle.name)", "warmup_ms": "\(Int(warmStart.duration(to: clock.now).milliseconds))",
                    "interactive_tokens_per_s": "\(Int(batcher.measuredTokensPerSecond(.interactive) ?? 0))",
                    "bulk_tokens_per_s": "\(Int(batcher.measuredTokensPerSecond(.bulk) ?? 0))",
                ])
        }
        return packing
    }

    /// Scores the warm-up texts one at a time (so even tiny admission bounds accept them), several lengths,
    /// then one full bulk batch (distinct windows of the longest text, as many as a batch holds), twice. The
    /// first pass, through the moderator, pays one-off costs (graph optimisation for each new input shape,
    /// allocations), so the batcher's throughput estimates are reset after it; the second, straight to the
    /// batcher (the cache would answer it), gives the rates that admission and the bulk batch cap start from.
    /// A bulk rate measured on small or cold batches would be far too slow, and admission, refusing every
    /// large request, would never measure a better one.
    private func warmUp(_ model: LoadedModel) async throws(ModerationError) {
        guard !configuration.warmUpTexts.isEmpty else { return }
        let (batcher, tokenizer, maxLength) = (model.batcher, model.tokenizer, model.bundle.maxSequenceLength)
        let longest = configuration.warmUpTexts.max { $0.utf8.count < $1.utf8.count } ?? ""
        let batching = configuration.batching
        let rows = max(1, min(batching.maxBatchSize, batching.maxBatchTokens / maxLength))
        // Distinct sequences: identical ones would be computed once.
        let full = (0..<rows).map { tokenizer.encode("\($0) \(longest)", maxLength: maxLength).ids }
        func fullBulkBatch() async throws(ModerationError) {
            do {
                _ = try await batcher.score(full, lane: .bulk, deadline: .seconds(300))
            } catch  where error.code == .requestTooLarge || error.code == .overloaded || error.code == .deadlineExceeded {
                // Tiny admission bounds, or a first estimate too slow to admit it: the bulk lane starts from
                // the interactive lane's rate.
            }
        }
        for text in configuration.warmUpTexts {
            _ = try await model.moderator.moderate([text], options: Moderator.Options(lane: .interactive, deadline: .seconds(300)))
        }
        try await fullBulkBatch()
        batcher.resetThroughputEstimate()
        for text in configuration.warmUpTexts {
            let ids = tokenizer.encode(text, maxLength: maxLength).ids
            _ = try await batcher.score([ids], lane: .interactive, deadline: .seconds(300))
        }
        try await fullBulkBatch()
    }

    /// Fits the packed forward's cost model on the model's first backend (``PackingCostModel/measure(on:batching:tokenIDs:padID:)``,
    /// with the warm-up text's ids), after the warm-up, while no batch of its is in flight. Returns the timed
    /// samples and the model, nil (rows keep their fixed width, and the log says why) when a forward fails or
    /// the times do not fit the model.
    private func fitPackingCost(_ model: LoadedModel) async -> PackingFit {
        let longest = configuration.warmUpTexts.max { $0.utf8.count < $1.utf8.count } ?? ""
        let ids = model.tokenizer.encode(longest, maxLength: model.bundle.maxSequenceLength).ids
        let clock = ContinuousClock()
        let start = clock.now
        let samples: [PackingCostModel.Sample]
        do {
            samples = try await PackingCostModel.measure(
                on: model.batcher.firstBackend, batching: configuration.batching, tokenIDs: ids, padID: model.tokenizer.padID)
        } catch {
            logger.warning("packed row width stays fixed: a timed forward failed", metadata: ["error": "\(error)"])
            return ([], nil)
        }
        let shown = samples.map { "\($0.rows)x\($0.width): \(($0.seconds * 1e6).rounded() / 1000) ms" }.joined(separator: ", ")
        guard let fitted = PackingCostModel.fit(samples) else {
            logger.warning("packed row width stays fixed: the timed forwards do not fit a cost model", metadata: ["samples": "\(shown)"])
            return (samples, nil)
        }
        logger.info(
            "packing cost model",
            metadata: ["model": "\(fitted)", "fit_ms": "\(Int(start.duration(to: clock.now).milliseconds))", "samples": "\(shown)"])
        return (samples, fitted)
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

    private func markReady(_ served: ServedModel) {
        metrics.recordServed(served, replacing: nil)
        let waiters = state.withLock { state in
            state.phase = .ready
            state.served = served
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: served.moderator) }
    }

    /// Records the failure (logged at notice: the error is thrown to the caller, who reports it).
    private func fail(_ error: EngineError, _ message: Logger.Message) {
        logger.notice(message, metadata: ["model": "\(initialBundle.modelPath)", "error": "\(error)"])
        finish(.failed(error.description), error: error)
    }

    /// Moves to a final phase (a failure is kept) and fails every waiter and a reload not yet begun.
    private func finish(_ phase: Phase, error: EngineError) {
        let (waiters, reload) = state.withLock { state in
            if case .failed = state.phase {} else { state.phase = phase }
            defer { state.waiters = [:] }
            return (state.waiters.values, state.pendingReload.take())
        }
        for waiter in waiters { waiter.resume(throwing: error) }
        reload?.continuation.resume(returning: .failure(error))
        reloadSignals.continuation.finish()
    }
}

/// A reload asked for and not yet taken by the engine's run loop.
struct PendingReload: Sendable {
    let directory: String?
    let continuation: CheckedContinuation<Result<ReloadReport, EngineError>, Never>
}

/// The model an engine serves, with the moderator that scores on it.
public struct ServedModel: Sendable {
    public let bundle: ModelBundle
    public let tokenizer: WordPieceTokenizer
    public let moderator: Moderator
    /// How it computes.
    public let runtime: RuntimeInfo
    /// When it began serving.
    public let loadedAt: Date
    /// From the start of its load to serving: loading, warm-up and the packing-cost fit.
    public let loadDuration: Duration
    /// The cost model its packed batches choose their row width by (nil when none was fitted or preset).
    public let packingCost: PackingCostModel?
    /// The timed forwards ``packingCost`` was fitted to (empty when no fit ran).
    public let packingSamples: [PackingCostModel.Sample]
}

/// What a reload did: the model it replaced and the one serving now.
public struct ReloadReport: Sendable {
    public let previous: ModelBundle
    public let served: ServedModel
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
        case reload(String)
        case reloadInProgress
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// The bundle's problem, when the manifest or its files are at fault.
    public var bundleError: ModelBundleError? {
        if case .bundle(let error) = kind { return error }
        return nil
    }

    /// Whether another reload was under way (the request was not taken).
    public var isReloadInProgress: Bool {
        if case .reloadInProgress = kind { return true }
        return false
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
        case .reload(let reason): reason
        case .reloadInProgress: "a model reload is already under way"
        }
    }
}

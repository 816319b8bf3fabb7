import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The batching engine's owner: a ServiceLifecycle `Service` that holds the ``BatchQueue`` behind a lock,
/// feeds batches to the backend(s) and resumes each waiting caller with its own result.
///
/// One worker loop per backend runs inside ``run()``; each takes the next batch
/// when its backend is free, so while one batch runs the next one forms in the queue.
///
/// - Important: ``run()`` must be running (e.g. in a `ServiceGroup`) for submitted work to be scored.
///   Work submitted before it starts waits in the queue (subject to deadlines).
/// - On graceful shutdown the batcher refuses new work with ``ModerationError/Code/shuttingDown``,
///   finishes everything already admitted (without the batching delay) and then returns from ``run()``.
///   If the task running ``run()`` is cancelled instead, waiting work is failed with `shuttingDown` and
///   ``run()`` returns once the batches already on the backends finish.
public final class Batcher: Service, Sendable {
    /// The scores of one submitted request.
    public struct Scores: Sendable, Equatable {
        /// One row of `labelCount` probabilities per submitted sequence, in submission order.
        public var rows: [[Float]]
        /// The longest time one of the request's items waited in the queue.
        public var queueWait: Duration
        /// The longest backend call among the request's batches.
        public var inference: Duration
    }

    public let configuration: BatchingConfiguration
    /// Width of each result row (the backend's label count).
    public let labelCount: Int
    /// Whether batches are packed: packing is not turned off and every backend supports it.
    public let packs: Bool
    let metrics: EngineMetrics

    private let backends: [any InferenceBackend]
    /// The first worker's backend (timed at warm-up while no batch is in flight).
    var firstBackend: any InferenceBackend { backends[0] }
    private let padID: Int32
    private let logger: Logger
    private let clock = ContinuousClock()
    private let state: Mutex<State>
    private let groupIDs = Atomic<UInt64>(0)

    /// A batcher whose `workers` workers share one backend.
    ///
    /// - Important: with more than one worker the backend must accept concurrent `score` calls.
    /// - Throws: when the configuration does not validate for `maxSequenceLength`.
    public convenience init(
        backend: any InferenceBackend, workers: Int = 1, configuration: BatchingConfiguration,
        maxSequenceLength: Int, padID: Int32 = 0,
        logger: Logger = Logger(label: "warden.batcher")
    ) throws(ConfigurationError) {
        try self.init(
            backends: Array(repeating: backend, count: max(workers, 1)), configuration: configuration,
            maxSequenceLength: maxSequenceLength, padID: padID, logger: logger)
    }

    /// A batcher with one worker per backend.
    ///
    /// - Parameters:
    ///   - padID: the tokenizer's `[PAD]` id, written into padding positions.
    /// - Throws: when the configuration does not validate for `maxSequenceLength`.
    /// - Precondition: `backends` is not empty and all report the same `labelCount`.
    public convenience init(
        backends: [any InferenceBackend], configuration: BatchingConfiguration, maxSequenceLength: Int,
        padID: Int32 = 0, logger: Logger = Logger(label: "warden.batcher")
    ) throws(ConfigurationError) {
        try configuration.validate(maxSequenceLength: maxSequenceLength)
        self.init(validated: configuration, backends: backends, padID: padID, logger: logger)
    }

    /// A batcher over a configuration its owner (``ModerationEngine``) has already validated.
    init(
        validated configuration: BatchingConfiguration, backends: [any InferenceBackend], padID: Int32, logger: Logger,
        metrics: EngineMetrics = EngineMetrics()
    ) {
        precondition(!backends.isEmpty, "a batcher needs at least one backend")
        precondition(backends.allSatisfy { $0.labelCount == backends[0].labelCount }, "backends disagree on labelCount")
        self.configuration = configuration
        self.metrics = metrics
        self.backends = backends
        self.labelCount = backends[0].labelCount
        self.padID = padID
        self.logger = logger
        self.packs = configuration.packing != .off && backends.allSatisfy(\.supportsPacking)
        self.state = Mutex(State(queue: BatchQueue(configuration: configuration, workers: backends.count, packs: packs)))
    }

    /// Running totals of the queue (batches, padding, duplicates, expired, …).
    public var statistics: BatchQueue.Statistics { state.withLock { $0.queue.statistics } }

    /// Rows computed for requests that then expired or were cancelled (zero when admission works).
    public var wastedRows: Int { state.withLock { $0.wastedRows } }

    /// The measured throughput of one worker on `lane`'s batches, padded tokens per second (nil before any
    /// batch completed).
    public func measuredTokensPerSecond(_ lane: Lane) -> Double? { state.withLock { $0.queue.measuredTokensPerSecond(lane) } }

    /// Forgets the measured throughput, so that the next batches set it afresh (after a first warm-up pass).
    public func resetThroughputEstimate() { state.withLock { $0.queue.resetThroughputEstimate() } }

    /// The cost model packed batches choose their row width by (see ``BatchQueue/packingCost``); the engine
    /// sets it after fitting it at warm-up.
    public var packingCost: PackingCostModel? {
        get { state.withLock { $0.queue.packingCost } }
        set { state.withLock { $0.queue.packingCost = newValue } }
    }

    /// Whether the batcher has stopped admitting work (graceful shutdown began, or it was cancelled).
    /// A readiness probe should report "not ready" when this is true.
    public var isShuttingDown: Bool { state.withLock { $0.queue.isShuttingDown } }

    /// Items waiting in `lane`.
    public func queueDepth(_ lane: Lane) -> Int { state.withLock { $0.queue.depth(lane) } }

    /// How long the longest-running batch now on a backend has been running (zero when none runs): a
    /// watchdog for a stuck forward pass, reported by readiness and metrics.
    public var longestRunningBatch: Duration {
        let now = clock.now
        return state.withLock { state in state.running.values.map { $0.duration(to: now) }.max() ?? .zero }
    }

    // MARK: - Submitting work

    /// Scores `sequences` (each `[CLS] … [SEP]`, at most the model's maximum length) as one request: all are
    /// admitted or none, and the call returns when every one has been scored.
    ///
    /// - Parameters:
    ///   - deadline: time allowed from now; default the lane's `defaultDeadline`, at most its `maxDeadline`.
    ///     Items that have not reached the backend by then are dropped and the call fails with
    ///     `deadlineExceeded`; a request that the queue estimates cannot make it is refused at once.
    /// - Throws: `overloaded` (with `retryAfter`), `requestTooLarge`, `shuttingDown`, `deadlineExceeded`,
    ///   `cancelled` (the calling task was cancelled; its waiting items never reach the backend),
    ///   `backendFailure`.
    public func score(_ sequences: [[Int32]], lane: Lane, deadline: Duration? = nil) async throws(ModerationError) -> Scores {
        guard !sequences.isEmpty else { return Scores(rows: [], queueWait: .zero, inference: .zero) }
        let settings = configuration.settings(for: lane)
        let timeout = min(deadline ?? settings.defaultDeadline, settings.maxDeadline)
        let group = groupIDs.wrappingAdd(1, ordering: .relaxed).oldValue
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Scores, ModerationError>, Never>) in
                let now = clock.now
                let outcome: (error: ModerationError?, wake: CheckedContinuation<Void, Never>?, depth: Int) = state.withLock { state in
                    if Task.isCancelled { return (.cancelled, nil, 0) }
                    switch state.queue.enqueue(group: group, lane: lane, sequences: sequences, deadline: now + timeout, now: now) {
                    case .rejected(let error):
                        return (error, nil, 0)
                    case .admitted:
                        state.groups[group] = PendingGroup(continuation: continuation, count: sequences.count, timeout: timeout)
                        return (nil, state.wakeIdleWorker(), state.queue.depth(lane))
                    }
                }
                if let error = outcome.error {
                    if error.code == .cancelled { metrics.cancelled.increment() } else { metrics.rejected(error) }
                    continuation.resume(returning: .failure(error))
                } else {
                    metrics.depth(lane).record(outcome.depth)
                    outcome.wake?.resume()
                }
            }
        } onCancel: {
            cancel(group: group)
        }
        return try result.get()
    }

    private func cancel(group: UInt64) {
        let cancelled = state.withLock { state -> (CheckedContinuation<Result<Scores, ModerationError>, Never>, Int)? in
            guard let pending = state.groups.removeValue(forKey: group) else { return nil }
            _ = state.queue.cancel(group: group)
            state.wastedRows += pending.computed
            return (pending.continuation, pending.computed)
        }
        if let (continuation, wasted) = cancelled {
            if wasted > 0 { metrics.wastedRows.increment(by: wasted) }
            metrics.cancelled.increment()
            continuation.resume(returning: .failure(.cancelled))
        }
    }

    // MARK: - Service

    /// Runs the worker loops until graceful shutdown (then drains) or cancellation.
    /// - Precondition: called at most once.
    public func run() async throws {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        precondition(first, "Batcher.run() may be called only once")
        logger.info("batcher started", metadata: ["workers": "\(backends.count)", "maxBatchSize": "\(configuration.maxBatchSize)"])
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    for (worker, backend) in backends.enumerated() {
                        group.addTask { await self.work(worker: worker, backend: backend) }
                    }
                }
            } onGracefulShutdown: {
                self.drain()
            }
        } onCancel: {
            self.stopNow()
        }
        logger.info("batcher stopped", metadata: ["batches": "\(statistics.batches)"])
    }

    /// Stops admission (new work is refused with `shuttingDown`) and lets the workers finish the queued work;
    /// ``run()`` then returns. Graceful shutdown calls it; so does a model reload for the replaced model.
    public func drain() {
        let waiters = state.withLock { state in
            state.queue.shutDown()
            return state.wakeAllWorkers(count: backends.count)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops admission and answers every request still waiting in the queue with `shuttingDown` (batches
    /// already on a backend finish and are answered). A server calls it shortly before its drain timeout, so
    /// that queued callers get a clean 503 `shutting_down` while their connections are still open, instead
    /// of a bare close when the timeout cuts them off.
    public func abandonQueuedWork() {
        let failed = state.withLock { state in
            state.queue.removeWaiting().compactMap { item in state.groups.removeValue(forKey: item.group)?.continuation }
        }
        for continuation in failed { continuation.resume(returning: .failure(.shuttingDown)) }
    }

    /// Stops admission, fails every waiting request and wakes the workers so they stop.
    private func stopNow() {
        let (failed, waiters) = state.withLock { state in
            let removed = state.queue.removeAll()
            var failed: [CheckedContinuation<Result<Scores, ModerationError>, Never>] = []
            for item in removed {
                if let pending = state.groups.removeValue(forKey: item.group) { failed.append(pending.continuation) }
            }
            return (failed, state.wakeAllWorkers(count: backends.count))
        }
        for continuation in failed { continuation.resume(returning: .failure(.shuttingDown)) }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: - Workers

    private func work(worker: Int, backend: any InferenceBackend) async {
        while true {
            let now = clock.now
            let (decision, expired, wake, depths) = state.withLock { state in
                state.signalled.remove(worker)
                let decision = state.queue.next(now: now)
                var expired: [(CheckedContinuation<Result<Scores, ModerationError>, Never>, Duration)] = []
                var wasted = 0
                for item in decision.expired {
                    if let pending = state.groups.removeValue(forKey: item.group) {
                        expired.append((pending.continuation, pending.timeout))
                        wasted += pending.computed
                    }
                }
                state.wastedRows += wasted
                if wasted > 0 { metrics.wastedRows.increment(by: wasted) }
                var wake: CheckedContinuation<Void, Never>?
                switch decision.action {
                case .run:
                    state.idle.remove(worker)
                    state.running[worker] = now
                    // More may be ready: let another idle worker look.
                    if state.queue.queuedItems > 0 { wake = state.wakeIdleWorker() }
                case .wait, .idle:
                    state.idle.insert(worker)
                case .finished:
                    state.idle.remove(worker)
                }
                return (decision, expired, wake, (state.queue.depth(.interactive), state.queue.depth(.bulk)))
            }
            wake?.resume()
            metrics.interactiveDepth.record(depths.0)
            metrics.bulkDepth.record(depths.1)
            if !decision.expired.isEmpty {
                metrics.expired.increment(by: decision.expired.count)
                for (continuation, timeout) in expired { continuation.resume(returning: .failure(.deadlineExceeded(timeout))) }
            }
            switch decision.action {
            case .run(let batch):
                await execute(batch, on: backend, worker: worker)
            case .wait(let until):
                await waitForSignal(worker: worker, until: until)
            case .idle:
                await waitForSignal(worker: worker, until: nil)
            case .finished:
                return
            }
        }
    }

    private func execute(_ batch: BatchQueue.Batch, on backend: any InferenceBackend, worker: Int) async {
        let start = clock.now
        for item in batch.items { metrics.queueWait(item.lane).record(duration: item.enqueuedAt.duration(to: start)) }
        let output: Result<[Float], ModerationError>
        do {
            let scores: [Float]
            if let packed = batch.packedTokenBatch(padID: padID) {
                scores = try await backend.scorePacked(packed)
            } else {
                scores = try await backend.score(batch.tokenBatch(padID: padID))
            }
            let expected = batch.expectedOutputCount(labels: labelCount)
            if scores.count == expected {
                output = .success(batch.scoresPerSequence(scores, labels: labelCount))
            } else {
                output = .failure(.backendFailure("returned \(scores.count) scores where the batch needs \(expected) (\(labelCount) labels per row)"))
            }
        } catch {
            output = .failure(.backendFailure(String(describing: error)))
        }
        let duration = start.duration(to: clock.now)
        let labels = labelCount
        let (finished, efficiency) = state.withLock { state in
            state.running.removeValue(forKey: worker)
            state.queue.recordCompletion(of: batch, duration: duration)
            var finished: [(CheckedContinuation<Result<Scores, ModerationError>, Never>, Result<Scores, ModerationError>)] = []
            for (i, item) in batch.items.enumerated() where state.groups[item.group] != nil {
                switch output {
                case .success(let scores):
                    let row = batch.rowOfItem[i]
                    let values = Array(scores[(row * labels)..<((row + 1) * labels)])
                    let wait = item.enqueuedAt.duration(to: start)
                    if state.groups[item.group]!.record(values, at: item.index, queueWait: wait, inference: duration) {
                        let pending = state.groups.removeValue(forKey: item.group)!
                        finished.append((pending.continuation, .success(pending.scores)))
                    }
                case .failure(let error):
                    let pending = state.groups.removeValue(forKey: item.group)!
                    _ = state.queue.discard(group: item.group)
                    finished.append((pending.continuation, .failure(error)))
                }
            }
            return (finished, state.queue.statistics.paddingEfficiency)
        }
        metrics.inference.record(duration: duration)
        metrics.batchSize.record(batch.items.count)
        metrics.batchRows.record(batch.packing?.rowCount ?? batch.rows.count)
        if batch.packing != nil { metrics.packedBatches.increment() }
        metrics.paddedTokens.record(batch.paddedTokens)
        metrics.batchPaddingEfficiency.record(batch.paddingEfficiency)
        metrics.paddingEfficiency.record(efficiency)
        if case .failure(let error) = output {
            metrics.backendFailures.increment()
            logger.error("backend failed a batch", metadata: ["rows": "\(batch.rows.count)", "error": "\(error)"])
        }
        for (continuation, result) in finished { continuation.resume(returning: result) }
    }

    /// Suspends the worker until it is signalled (new work, shutdown) or `until` passes.
    private func waitForSignal(worker: Int, until: ContinuousClock.Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            if let until {
                group.addTask {
                    do {
                        try await Task.sleep(until: until, clock: .continuous)
                        self.signal(worker: worker)
                    } catch {}
                }
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.signalled.remove(worker) != nil { return true }
                    state.waiters[worker] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }

    private func signal(worker: Int) {
        let waiter = state.withLock { state in state.wake(worker) }
        waiter?.resume()
    }
}

extension Batcher {
    /// A request waiting for its items.
    struct PendingGroup {
        let continuation: CheckedContinuation<Result<Scores, ModerationError>, Never>
        let timeout: Duration
        private var rows: [[Float]]
        private var remaining: Int
        private var queueWait: Duration = .zero
        private var inference: Duration = .zero

        init(continuation: CheckedContinuation<Result<Scores, ModerationError>, Never>, count: Int, timeout: Duration) {
            self.continuation = continuation
            self.timeout = timeout
            self.rows = Array(repeating: [], count: count)
            self.remaining = count
        }

        /// Stores one item's scores; returns true when the group is complete.
        mutating func record(_ values: [Float], at index: Int, queueWait: Duration, inference: Duration) -> Bool {
            rows[index] = values
            remaining -= 1
            self.queueWait = max(self.queueWait, queueWait)
            self.inference = max(self.inference, inference)
            return remaining == 0
        }

        var scores: Scores { Scores(rows: rows, queueWait: queueWait, inference: inference) }

        /// Items of the request already computed.
        var computed: Int { rows.count - remaining }
    }

    /// Everything behind the lock.
    struct State {
        var queue: BatchQueue
        var groups: [UInt64: PendingGroup] = [:]
        var started = false
        /// Suspended workers.
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Workers signalled while not suspended: their next wait returns at once (no lost wake-up).
        var signalled: Set<Int> = []
        /// Workers that found nothing to run at their last look.
        var idle: Set<Int> = []
        /// When each busy worker's current batch started.
        var running: [Int: ContinuousClock.Instant] = [:]
        /// Rows computed for requests that then expired or were cancelled.
        var wastedRows = 0

        /// Signals `worker`; returns its continuation to resume after the lock is released.
        mutating func wake(_ worker: Int) -> CheckedContinuation<Void, Never>? {
            idle.remove(worker)
            if let waiter = waiters.removeValue(forKey: worker) { return waiter }
            signalled.insert(worker)
            return nil
        }

        mutating func wakeIdleWorker() -> CheckedContinuation<Void, Never>? {
            guard let worker = idle.first else { return nil }
            return wake(worker)
        }

        mutating func wakeAllWorkers(count: Int) -> [CheckedContinuation<Void, Never>] {
            (0..<count).compactMap { wake($0) }
        }
    }
}

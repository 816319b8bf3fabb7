import Foundation
import Logging
import Metrics
import NATSClient
import ServiceLifecycle
import Synchronization
import WardenAPI
import WardenCore
import WardenGateway

/// `warden worker`'s JetStream side: pulls batches from a durable consumer, scores each message through
/// the engine, publishes its verdict (waiting for the PubAck), and only then acks the message.
///
/// - A message whose verdict is published is acked; a duplicate PubAck (the verdict was stored by an earlier
///   delivery) is acked too.
/// - The engine cannot take it now (overload, shutdown, a deadline, a failing model) or the verdict's
///   publish fails: nak with a delay, so it comes back later.
/// - Poison (invalid UTF-8 or JSON, empty, over a limit): an error verdict, then a term, never a loop.
/// - Messages held longer than a third of `AckWait` get in-progress acks (`+WPI`).
/// - Graceful shutdown (SIGTERM): stops pulling, finishes and acks what it holds, then returns.
public final class StreamWorker: Service, Sendable {
    public struct Counters: Sendable, Equatable {
        public var acked = 0
        public var duplicates = 0
        public var naked = 0
        public var terminated = 0
        public var inProgress = 0
    }

    private let engine: ModerationEngine
    private let jetStream: JetStream
    private let settings: StreamWorkerSettings
    private let call: ModerationCall
    private let logger: Logger
    private let stopping = Atomic(false)
    private let held = Mutex<[UInt64: (message: JetStreamMessage, since: ContinuousClock.Instant)]>([:])
    private let counters = Mutex(Counters())
    /// The counters, for Prometheus (`warden_nats_messages_total{outcome}`, `warden_nats_in_progress_total`).
    private let ackedMetric = Metrics.Counter(label: "warden_nats_messages_total", dimensions: [("outcome", "acked")])
    private let duplicateMetric = Metrics.Counter(label: "warden_nats_messages_total", dimensions: [("outcome", "duplicate_verdict")])
    private let nakedMetric = Metrics.Counter(label: "warden_nats_messages_total", dimensions: [("outcome", "naked")])
    private let terminatedMetric = Metrics.Counter(label: "warden_nats_messages_total", dimensions: [("outcome", "terminated")])
    private let inProgressMetric = Metrics.Counter(label: "warden_nats_in_progress_total")

    /// Called once the consumer is bound, before the first pull.
    private let onBound: @Sendable (ConsumerInfo) -> Void

    public init(
        engine: ModerationEngine, jetStream: JetStream, settings: StreamWorkerSettings, logger: Logger,
        onBound: @escaping @Sendable (ConsumerInfo) -> Void = { _ in }
    ) {
        self.onBound = onBound
        self.engine = engine
        self.jetStream = jetStream
        self.settings = settings
        self.call = ModerationCall(
            bundle: engine.bundle, lanes: engine.configuration.batching, limits: settings.limits,
            defaultLane: settings.lane, policies: settings.policies, shadow: settings.shadow)
        self.logger = logger
    }

    public var statistics: Counters { counters.withLock { $0 } }

    /// Creates the durable consumer when it is missing (explicit ack, the settings' `AckWait` and
    /// `MaxAckPending`); an existing one is used as it is.
    public func ensureConsumer() async throws -> ConsumerInfo {
        let config = ConsumerConfig(
            durableName: settings.consumer, filterSubject: settings.filterSubject, ackPolicy: "explicit",
            ackWait: settings.ackWait, maxAckPending: settings.maxAckPending)
        return try await jetStream.ensureConsumer(stream: settings.stream, config: config)
    }

    public func run() async throws {
        _ = try await engine.ready()
        let info = try await ensureConsumer()
        logger.info(
            "pulling from JetStream",
            metadata: [
                "stream": "\(settings.stream)", "consumer": "\(info.name)", "pending": "\(info.numPending)",
                "ack_wait_s": "\(info.config.ackWait.seconds)", "max_ack_pending": "\(info.config.maxAckPending)",
                "batch": "\(settings.fetchBatch)",
            ])
        onBound(info)
        let heartbeat = Task { await keepAlive(ackWait: info.config.ackWait) }
        defer { heartbeat.cancel() }
        await withGracefulShutdownHandler {
            await pullLoop()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        // Everything held was answered: make sure the server has the acks before the process goes.
        try? await jetStream.connection.flush()
        let counts = statistics
        logger.info(
            "stopped pulling; every fetched message was answered",
            metadata: [
                "acked": "\(counts.acked)", "naked": "\(counts.naked)", "terminated": "\(counts.terminated)",
            ])
    }

    /// Pulls while there is room for a batch; each message is handled in its own child task.
    private func pullLoop() async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            var backlog = true
            var failures = 0
            while !stopping.load(ordering: .relaxed) {
                while inFlight > 0, inFlight + settings.fetchBatch > settings.maxInFlight {
                    await group.next()
                    inFlight -= 1
                }
                let batch: [JetStreamMessage]
                do {
                    // With a backlog, take what is there at once; idle, wait for the first message.
                    batch =
                        backlog
                        ? try await jetStream.fetch(stream: settings.stream, consumer: settings.consumer, batch: settings.fetchBatch, noWait: true)
                        : try await jetStream.fetch(stream: settings.stream, consumer: settings.consumer, batch: 1, expires: settings.idleWait)
                    failures = 0
                } catch {
                    failures += 1
                    logger.warning("pull failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: ReconnectPolicy().delay(attempt: failures))
                    continue
                }
                backlog = !batch.isEmpty
                let now = ContinuousClock.now
                for message in batch {
                    guard let sequence = message.metadata?.streamSequence else {
                        logger.error("message without JetStream metadata; terminating it", metadata: ["subject": "\(message.subject)"])
                        try? message.term()
                        continue
                    }
                    held.withLock { $0[sequence] = (message, now) }
                    inFlight += 1
                    group.addTask {
                        await self.handle(message)
                        _ = self.held.withLock { $0.removeValue(forKey: sequence) }
                    }
                }
            }
            await group.waitForAll()
        }
    }

    /// In-progress acks for messages held longer than a third of `AckWait`.
    private func keepAlive(ackWait: Duration) async {
        let period = ackWait / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            let now = ContinuousClock.now
            let old = held.withLock { $0.values.filter { now - $0.since >= period }.map(\.message) }
            for message in old { try? message.inProgress() }
            if !old.isEmpty {
                counters.withLock { $0.inProgress += old.count }
                inProgressMetric.increment(by: old.count)
            }
        }
    }

    /// One message: score, publish the verdict, ack; or nak; or error verdict and term.
    func handle(_ message: JetStreamMessage) async {
        guard let metadata = message.metadata else { return }
        let verdict: Verdict
        do throws(ModerationFault) {
            guard message.payload.count <= settings.limits.maxBodyBytes else { throw .bodyTooLarge(limit: settings.limits.maxBodyBytes) }
            let response = try await call.moderate(message.payload, on: engine, id: "modr-\(metadata.stream)-\(metadata.streamSequence)")
            do {
                verdict = try .success(response)
            } catch {
                throw ModerationFault(status: 500, code: .internalError, type: "server_error", message: "cannot encode the verdict: \(error)")
            }
        } catch {
            guard error.isPermanent else {
                nak(message, delay: error.retryAfter ?? settings.retryDelay, reason: error.description)
                return
            }
            logger.info(
                "poison message: error verdict, then term",
                metadata: [
                    "stream_seq": "\(metadata.streamSequence)", "code": "\(error.code.rawValue)",
                ])
            if await publish(.failure(error), for: message, metadata: metadata) {
                try? message.term()
                counters.withLock { $0.terminated += 1 }
                terminatedMetric.increment()
            }
            return
        }
        if await publish(verdict, for: message, metadata: metadata) {
            do {
                try message.ack()
                counters.withLock { $0.acked += 1 }
                ackedMetric.increment()
            } catch {
                // The verdict is stored; the message comes back after AckWait and its second verdict is dropped.
                logger.warning(
                    "ack not sent; the message will be redelivered",
                    metadata: [
                        "stream_seq": "\(metadata.streamSequence)", "error": "\(error)",
                    ])
            }
        }
    }

    /// Publishes a verdict and waits for the PubAck; on failure naks the source and returns false.
    private func publish(_ verdict: Verdict, for message: JetStreamMessage, metadata: JetStreamMetadata) async -> Bool {
        var headers = NATSHeaders()
        headers[VerdictHeader.stream] = metadata.stream
        headers[VerdictHeader.sequence] = String(metadata.streamSequence)
        headers[VerdictHeader.subject] = message.subject
        headers[VerdictHeader.delivered] = String(metadata.numDelivered)
        headers[VerdictHeader.status] = String(verdict.status)
        if let code = verdict.errorCode { headers[VerdictHeader.errorCode] = code }
        let subject = settings.resultsSubject(for: message.subject, stream: metadata.stream)
        do {
            let ack = try await jetStream.publish(
                to: subject, payload: verdict.payload, headers: headers,
                messageID: "\(metadata.stream)-\(metadata.streamSequence)")
            if ack.duplicate {
                counters.withLock { $0.duplicates += 1 }
                duplicateMetric.increment()
            }
            return true
        } catch {
            nak(message, delay: settings.retryDelay, reason: "verdict not stored on \(subject): \(error)")
            return false
        }
    }

    private func nak(_ message: JetStreamMessage, delay: Duration, reason: String) {
        logger.warning(
            "message naked for redelivery",
            metadata: [
                "stream_seq": "\(message.metadata?.streamSequence ?? 0)", "delay_ms": "\(Int(delay.milliseconds))", "reason": "\(reason)",
            ])
        try? message.nak(delay: delay)
        counters.withLock { $0.naked += 1 }
        nakedMetric.increment()
    }
}

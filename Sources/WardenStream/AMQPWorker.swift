import AMQPClient
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import WardenAPI
import WardenCore
import WardenGateway

/// `warden worker`'s RabbitMQ side, the same design as ``StreamWorker``: consumes a queue with manual acks,
/// scores each message through the engine, publishes its verdict under publisher confirms, and only once the
/// broker has confirmed the verdict acks the message.
///
/// - Verdicts go to the results exchange and routing key, or, for a message with `reply_to`, straight to its
///   requester (RabbitMQ's direct reply-to included) with its `correlation_id`. A verdict's `message_id` is
///   the source's, or a stable hash of the delivery (exchange, routing key, correlation id, timestamp, body)
///   when it has none, so a redelivered message's second verdict carries the same id and a consumer can drop it.
/// - The engine cannot take it now (overload, shutdown, a deadline, a failing model) or the verdict is not
///   confirmed: the message is held for the retry delay, then nacked back to the queue.
/// - Poison (invalid UTF-8 or JSON, empty, over a limit): an error verdict, then a reject without requeue, so
///   it goes to the queue's dead-letter exchange when it has one, never round in a loop.
/// - A lost connection: what was held goes back to the queue on the broker; the worker connects again with
///   jittered backoff, declares again and consumes again.
/// - Graceful shutdown (SIGTERM): cancels the consumer (`basic.cancel`), finishes and acks what it holds, closes.
public final class AMQPWorker: Service, Sendable {
    public struct Counters: Sendable, Equatable {
        public var acked = 0
        public var requeued = 0
        public var rejected = 0
        public var replies = 0
        public var connections = 0
    }

    private let engine: ModerationEngine
    private let settings: AMQPWorkerSettings
    private let call: ModerationCall
    private let logger: Logger
    private let stopping = Atomic(false)
    /// The channel and consumer tag consuming now, for `basic.cancel` at shutdown.
    private let current = Mutex<(channel: AMQPChannel, tag: String)?>(nil)
    private let counters = Mutex(Counters())
    private let ackedMetric = Metrics.Counter(label: "warden_amqp_messages_total", dimensions: [("outcome", "acked")])
    private let requeuedMetric = Metrics.Counter(label: "warden_amqp_messages_total", dimensions: [("outcome", "requeued")])
    private let rejectedMetric = Metrics.Counter(label: "warden_amqp_messages_total", dimensions: [("outcome", "rejected")])
    private let onConsuming: @Sendable () -> Void

    /// `onConsuming` is called each time the consumer is (re)started, once the queue is declared.
    public init(engine: ModerationEngine, settings: AMQPWorkerSettings, logger: Logger, onConsuming: @escaping @Sendable () -> Void = {}) {
        self.engine = engine
        self.settings = settings
        self.call = ModerationCall(
            bundle: engine.bundle, lanes: engine.configuration.batching, limits: settings.limits,
            defaultLane: settings.lane, policies: settings.policies, shadow: settings.shadow)
        self.logger = logger
        self.onConsuming = onConsuming
    }

    public var statistics: Counters { counters.withLock { $0 } }

    public func run() async throws {
        _ = try await engine.ready()
        await withGracefulShutdownHandler {
            var attempt = 0
            while !stopping.load(ordering: .relaxed) {
                do {
                    let connection = try await AMQPConnection.connect(settings.connection)
                    attempt = 0
                    counters.withLock { $0.connections += 1 }
                    await session(on: connection)
                    await connection.close()
                } catch {
                    logger.warning("AMQP session failed", metadata: ["broker": "\(settings.connection.redactedURL)", "error": "\(error)"])
                }
                guard !stopping.load(ordering: .relaxed) else { break }
                let delay = settings.backoff.delay(attempt: attempt)
                attempt += 1
                logger.notice("reconnecting to the AMQP broker", metadata: ["delay_ms": "\(Int(delay.milliseconds))", "attempt": "\(attempt)"])
                let end = ContinuousClock.now + delay
                while ContinuousClock.now < end, !stopping.load(ordering: .relaxed) {
                    try? await Task.sleep(for: min(.milliseconds(100), end - ContinuousClock.now))
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            if let (channel, tag) = self.current.withLock({ $0 }) {
                Task { try? await channel.cancel(tag) }
            }
        }
        let counts = statistics
        logger.info(
            "stopped consuming; every delivery held was answered",
            metadata: [
                "acked": "\(counts.acked)", "requeued": "\(counts.requeued)", "rejected": "\(counts.rejected)",
            ])
    }

    /// Declares, consumes until the consumer ends (shutdown, a lost connection, a cancel by the broker), and
    /// answers every delivery received before returning.
    private func session(on connection: AMQPConnection) async {
        let consumer: AMQPConsumer
        let channel: AMQPChannel
        do {
            channel = try await connection.openChannel()
            try await channel.confirmSelect()
            try await channel.declareQueue(settings.queue, durable: true, arguments: settings.queueArguments)
            let exchange = settings.resultsExchange
            if !exchange.isEmpty, !exchange.hasPrefix("amq.") {
                try await channel.declareExchange(exchange, type: "topic", durable: true)
            }
            if let resultsQueue = settings.resultsQueue, !resultsQueue.isEmpty {
                try await channel.declareQueue(resultsQueue, durable: true, arguments: ["x-queue-type": .string(settings.queueType)])
                if !exchange.isEmpty {
                    try await channel.bindQueue(resultsQueue, exchange: exchange, routingKey: settings.resultsRoutingKey(for: "#"))
                }
            }
            try await channel.qos(prefetchCount: UInt16(clamping: settings.prefetch))
            consumer = try await channel.consume(queue: settings.queue)
        } catch {
            logger.warning("cannot consume from the AMQP queue", metadata: ["queue": "\(settings.queue)", "error": "\(error)"])
            return
        }
        current.withLock { $0 = (channel, consumer.tag) }
        if stopping.load(ordering: .relaxed) { try? await channel.cancel(consumer.tag) }
        logger.info(
            "consuming from RabbitMQ",
            metadata: [
                "broker": "\(settings.connection.redactedURL)", "queue": "\(settings.queue)", "queue_type": "\(settings.queueType)",
                "prefetch": "\(settings.prefetch)",
            ])
        onConsuming()
        await withTaskGroup(of: Void.self) { group in
            for await delivery in consumer {
                group.addTask { await self.handle(delivery, on: channel) }
            }
            await group.waitForAll()
        }
        current.withLock { $0 = nil }
        if !stopping.load(ordering: .relaxed) {
            logger.warning("the AMQP consumer ended", metadata: ["reason": "\(connection.isOpen ? "cancelled by the broker" : "connection lost")"])
        }
    }

    /// The verdict's `message_id`: the source's, or a stable hash of what the delivery carries.
    public static func messageID(for delivery: AMQPDelivery) -> String {
        if let id = delivery.properties.messageID, !id.isEmpty { return id }
        var hash = FNV1a()
        hash.add(Array(delivery.exchange.utf8))
        hash.add(Array(delivery.routingKey.utf8))
        hash.add(Array((delivery.properties.correlationID ?? "").utf8))
        hash.add(Array(String(delivery.properties.timestamp ?? 0).utf8))
        hash.add(delivery.body)
        return "fnv1a-" + String(hash.value, radix: 16)
    }

    /// One delivery: score, publish the verdict, ack; or hold and requeue; or error verdict and reject.
    func handle(_ delivery: AMQPDelivery, on channel: AMQPChannel) async {
        let id = Self.messageID(for: delivery)
        let verdict: Verdict
        do throws(ModerationFault) {
            guard delivery.body.count <= settings.limits.maxBodyBytes else { throw .bodyTooLarge(limit: settings.limits.maxBodyBytes) }
            let response = try await call.moderate(delivery.body, on: engine, id: "modr-\(id)")
            do {
                verdict = try .success(response)
            } catch {
                throw ModerationFault(status: 500, code: .internalError, type: "server_error", message: "cannot encode the verdict: \(error)")
            }
        } catch {
            guard error.isPermanent else {
                await requeue(delivery, on: channel, after: error.retryAfter ?? settings.retryDelay, reason: error.description)
                return
            }
            logger.info("poison message: error verdict, then reject", metadata: ["message_id": "\(id)", "code": "\(error.code.rawValue)"])
            if await publish(.failure(error), for: delivery, id: id, on: channel) {
                do {
                    try channel.reject(delivery.deliveryTag, requeue: false)
                    counters.withLock { $0.rejected += 1 }
                    rejectedMetric.increment()
                } catch {
                    logger.warning("reject not sent; the message will be redelivered", metadata: ["message_id": "\(id)", "error": "\(error)"])
                }
            }
            return
        }
        guard await publish(verdict, for: delivery, id: id, on: channel) else { return }
        do {
            try channel.ack(delivery.deliveryTag)
            counters.withLock { $0.acked += 1 }
            ackedMetric.increment()
        } catch {
            // The verdict is out; the message comes back and its second verdict carries the same message_id.
            logger.warning("ack not sent; the message will be redelivered", metadata: ["message_id": "\(id)", "error": "\(error)"])
        }
    }

    /// Publishes a verdict and waits for the broker's confirm; on failure requeues the source and returns false.
    private func publish(_ verdict: Verdict, for delivery: AMQPDelivery, id: String, on channel: AMQPChannel) async -> Bool {
        var headers: AMQPFieldTable = [
            "warden-status": .int32(Int32(verdict.status)),
            "warden-source-routing-key": .string(delivery.routingKey),
            "warden-redelivered": .bool(delivery.redelivered),
        ]
        if let code = verdict.errorCode { headers["warden-error-code"] = .string(code) }
        let replyTo = delivery.properties.replyTo.flatMap { $0.isEmpty ? nil : $0 }
        let properties = AMQPProperties(
            contentType: "application/json", headers: headers, deliveryMode: replyTo == nil ? 2 : 1,
            correlationID: delivery.properties.correlationID ?? id, messageID: id,
            type: verdict.status == 200 ? "moderation" : "error")
        let exchange = replyTo == nil ? settings.resultsExchange : ""
        let routingKey = replyTo ?? settings.resultsRoutingKey(for: delivery.routingKey)
        do {
            try await channel.publish(verdict.payload, exchange: exchange, routingKey: routingKey, properties: properties)
            if replyTo != nil { counters.withLock { $0.replies += 1 } }
            return true
        } catch {
            await requeue(delivery, on: channel, after: settings.retryDelay, reason: "verdict not confirmed: \(error)")
            return false
        }
    }

    /// Holds the delivery for `delay` (not while shutting down), then nacks it back to the queue.
    private func requeue(_ delivery: AMQPDelivery, on channel: AMQPChannel, after delay: Duration, reason: String) async {
        logger.warning(
            "message requeued",
            metadata: [
                "delivery_tag": "\(delivery.deliveryTag)", "delay_ms": "\(Int(delay.milliseconds))", "reason": "\(reason)",
            ])
        let end = ContinuousClock.now + delay
        while ContinuousClock.now < end, !stopping.load(ordering: .relaxed), channel.connection.isOpen {
            try? await Task.sleep(for: min(.milliseconds(50), end - ContinuousClock.now))
        }
        do {
            try channel.nack(delivery.deliveryTag, requeue: true)
            counters.withLock { $0.requeued += 1 }
            requeuedMetric.increment()
        } catch {
            // The channel is gone: the broker requeues the message by itself.
        }
    }
}

/// FNV-1a, 64 bits, over length-prefixed fields (so that field boundaries count).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        var length = UInt64(bytes.count)
        for _ in 0..<8 {
            mix(UInt8(truncatingIfNeeded: length))
            length >>= 8
        }
        for byte in bytes { mix(byte) }
    }

    private mutating func mix(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x100_0000_01b3
    }
}

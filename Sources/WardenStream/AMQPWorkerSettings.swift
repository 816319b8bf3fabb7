import AMQPClient
import Foundation
import WardenCore
import WardenGateway
import WardenPolicies

/// What an ``AMQPWorker`` consumes and where it writes: the RabbitMQ side of `warden worker`.
public struct AMQPWorkerSettings: Sendable {
    /// The broker, credentials, heartbeat and TLS.
    public var connection: AMQPConfiguration
    /// The queue of requests (each body a `/v1/moderations` request body), declared durable when missing.
    public var queue: String = "moderation.requests"
    /// `x-queue-type` of the declared queue: `quorum` (replicated, the default) or `classic`.
    public var queueType: String = "quorum"
    /// `x-dead-letter-exchange` of the declared queue: where poison goes after its error verdict.
    public var deadLetterExchange: String?
    /// `x-dead-letter-routing-key` of the declared queue.
    public var deadLetterRoutingKey: String?
    /// The exchange verdicts are published to; empty: the default exchange (routing by queue name). A named
    /// exchange is declared (durable, `topic`) unless it is one of the broker's `amq.` exchanges.
    public var resultsExchange: String = ""
    /// The verdicts' routing key; `{routing_key}` is replaced by the source message's routing key.
    public var resultsRoutingKey: String = "moderation.verdicts"
    /// A queue declared (durable, `queueType`) to hold verdicts, bound to a named results exchange with the
    /// routing key; nil declares none.
    public var resultsQueue: String? = "moderation.verdicts"
    /// Most unacked deliveries this worker holds (`basic.qos`).
    public var prefetch: Int = 64
    /// The lane of messages that name none.
    public var lane: Lane = .bulk
    /// What one message may hold: a body over `limits.maxBodyBytes` is poison.
    public var limits = RequestLimits()
    /// The named policies messages may choose (`"policy"`); nil: none configured.
    public var policies: PolicyStore?
    /// A candidate model offered a sample of the messages answered; nil: none. Run it as a service beside
    /// the worker.
    public var shadow: ShadowScorer?
    /// How long a message the engine cannot take now is held before it is nacked back to the queue, when the
    /// engine gives no better hint.
    public var retryDelay: Duration = .seconds(1)
    /// Waits between connection attempts after the broker is lost.
    public var backoff = AMQPBackoff()

    public init(connection: AMQPConfiguration) {
        self.connection = connection
    }

    /// The defaults described on each property, over a local broker.
    public static let defaults = AMQPWorkerSettings(connection: AMQPConfiguration())
    /// The queue types a declared queue may have.
    public static let queueTypes = ["quorum", "classic"]
    /// The most unacked deliveries `basic.qos` takes.
    public static let prefetchRange = 1...65535

    /// The prefetch that keeps every engine worker's batch full with as many waiting: two batches per worker.
    public static func defaultPrefetch(maxBatchSize: Int, workers: Int) -> Int { 2 * maxBatchSize * workers }

    /// The declared queue's arguments: its type and dead-letter target.
    public var queueArguments: AMQPFieldTable {
        var arguments: AMQPFieldTable = ["x-queue-type": .string(queueType)]
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        if let deadLetterRoutingKey { arguments["x-dead-letter-routing-key"] = .string(deadLetterRoutingKey) }
        return arguments
    }

    /// The routing key of the verdict for a message that came with `routingKey`.
    public func resultsRoutingKey(for routingKey: String) -> String {
        resultsRoutingKey.replacingOccurrences(of: "{routing_key}", with: routingKey)
    }
}

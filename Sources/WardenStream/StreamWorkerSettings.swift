import Foundation
import WardenCore
import WardenGateway
import WardenPolicies

/// What a ``StreamWorker`` consumes and where it writes: the JetStream side of `warden worker`.
public struct StreamWorkerSettings: Sendable {
    /// The stream holding the messages to moderate.
    public var stream: String
    /// The durable pull consumer every worker shares (created when missing).
    public var consumer: String
    /// Only the stream's messages on this subject (wildcards allowed); nil: all of them.
    public var filterSubject: String?
    /// Where each verdict is published: `{subject}` is replaced by the source message's subject, `{stream}`
    /// by the stream's name. A stream must store this subject (the publish waits for its PubAck).
    public var resultsSubject: String = "moderation.results.{subject}"
    /// The lane of messages that name none.
    public var lane: Lane = .bulk
    /// The consumer's `AckWait` when the worker creates it.
    public var ackWait: Duration = .seconds(30)
    /// The consumer's `MaxAckPending` when the worker creates it (over all workers).
    public var maxAckPending: Int = 1024
    /// Messages asked for per pull (from the engine's batch size by default).
    public var fetchBatch: Int = 64
    /// Most messages held (fetched, not yet acked) by this worker.
    public var maxInFlight: Int = 128
    /// How long an idle pull waits for the first message.
    public var idleWait: Duration = .seconds(1)
    /// What one message may hold, the same limits as an HTTP request's: a body over `maxBodyBytes` is poison
    /// (an error verdict, then a term).
    public var limits = RequestLimits()
    /// The named policies messages may choose (`"policy"`); set by ``WardenWorker`` from its configuration.
    public var policies: PolicyStore?
    /// A candidate model offered a sample of the messages answered; set by ``WardenWorker`` from its
    /// configuration.
    public var shadow: ShadowScorer?
    /// The redelivery delay of a message the engine could not take now (overload, shutdown) when the engine
    /// gives no better hint.
    public var retryDelay: Duration = .seconds(1)

    /// The consumer name of ``init(stream:consumer:)``'s default.
    public static let defaultConsumer = "warden"

    public init(stream: String, consumer: String = defaultConsumer) {
        self.stream = stream
        self.consumer = consumer
    }

    /// The subject of the verdict for a message on `subject` from `stream`.
    public func resultsSubject(for subject: String, stream: String) -> String {
        resultsSubject.replacingOccurrences(of: "{subject}", with: subject).replacingOccurrences(of: "{stream}", with: stream)
    }
}

import Foundation

/// A stream's configuration (the fields this client sets; the server fills in the rest).
public struct StreamConfig: Codable, Sendable, Equatable {
    public var name: String
    public var subjects: [String]
    /// `file` or `memory`.
    public var storage: String
    /// `limits`, `interest` or `workqueue`.
    public var retention: String
    /// Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate.
    public var duplicateWindow: Duration?
    public var maxMessages: Int?
    public var maxBytes: Int?
    public var replicas: Int

    public init(
        name: String, subjects: [String], storage: String = "file", retention: String = "limits",
        duplicateWindow: Duration? = nil, maxMessages: Int? = nil, maxBytes: Int? = nil, replicas: Int = 1
    ) {
        self.name = name
        self.subjects = subjects
        self.storage = storage
        self.retention = retention
        self.duplicateWindow = duplicateWindow
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.replicas = replicas
    }

    enum CodingKeys: String, CodingKey {
        case name, subjects, storage, retention
        case duplicateWindow = "duplicate_window", maxMessages = "max_msgs", maxBytes = "max_bytes", replicas = "num_replicas"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        subjects = try container.decodeIfPresent([String].self, forKey: .subjects) ?? []
        storage = try container.decodeIfPresent(String.self, forKey: .storage) ?? "file"
        retention = try container.decodeIfPresent(String.self, forKey: .retention) ?? "limits"
        duplicateWindow = try container.decodeIfPresent(Int64.self, forKey: .duplicateWindow).map { .nanoseconds($0) }
        maxMessages = try container.decodeIfPresent(Int.self, forKey: .maxMessages)
        maxBytes = try container.decodeIfPresent(Int.self, forKey: .maxBytes)
        replicas = try container.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(subjects, forKey: .subjects)
        try container.encode(storage, forKey: .storage)
        try container.encode(retention, forKey: .retention)
        try container.encodeIfPresent(duplicateWindow?.nanoseconds, forKey: .duplicateWindow)
        try container.encodeIfPresent(maxMessages, forKey: .maxMessages)
        try container.encodeIfPresent(maxBytes, forKey: .maxBytes)
        try container.encode(replicas, forKey: .replicas)
    }
}

/// `$JS.API.STREAM.INFO` / `CREATE`'s answer.
public struct StreamInfo: Decodable, Sendable {
    public struct State: Decodable, Sendable {
        public var messages: Int
        public var bytes: Int
        public var firstSequence: UInt64
        public var lastSequence: UInt64
        public var consumerCount: Int

        enum CodingKeys: String, CodingKey {
            case messages, bytes
            case firstSequence = "first_seq", lastSequence = "last_seq", consumerCount = "consumer_count"
        }
    }

    public var config: StreamConfig
    public var state: State
}

/// A durable pull consumer's configuration, with explicit acks.
public struct ConsumerConfig: Codable, Sendable, Equatable {
    public var durableName: String
    /// Only messages on this subject (wildcards allowed); nil: the whole stream.
    public var filterSubject: String?
    /// `explicit` (each message acked), `all` or `none`.
    public var ackPolicy: String
    /// How long a delivered message may stay unacked before it is delivered again.
    public var ackWait: Duration
    /// Most messages delivered and not yet acked, over all the consumer's clients.
    public var maxAckPending: Int
    /// Most deliveries of one message; -1: unlimited.
    public var maxDeliver: Int
    /// `all`, `new`, `last`…
    public var deliverPolicy: String
    /// Most pull requests waiting at once.
    public var maxWaiting: Int?

    public init(
        durableName: String, filterSubject: String? = nil, ackPolicy: String = "explicit", ackWait: Duration = .seconds(30),
        maxAckPending: Int = 1000, maxDeliver: Int = -1, deliverPolicy: String = "all", maxWaiting: Int? = nil
    ) {
        self.durableName = durableName
        self.filterSubject = filterSubject
        self.ackPolicy = ackPolicy
        self.ackWait = ackWait
        self.maxAckPending = maxAckPending
        self.maxDeliver = maxDeliver
        self.deliverPolicy = deliverPolicy
        self.maxWaiting = maxWaiting
    }

    enum CodingKeys: String, CodingKey {
        case durableName = "durable_name", filterSubject = "filter_subject", ackPolicy = "ack_policy", ackWait = "ack_wait"
        case maxAckPending = "max_ack_pending", maxDeliver = "max_deliver", deliverPolicy = "deliver_policy", maxWaiting = "max_waiting"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        durableName = try container.decodeIfPresent(String.self, forKey: .durableName) ?? ""
        filterSubject = try container.decodeIfPresent(String.self, forKey: .filterSubject)
        ackPolicy = try container.decodeIfPresent(String.self, forKey: .ackPolicy) ?? "explicit"
        ackWait = .nanoseconds(try container.decodeIfPresent(Int64.self, forKey: .ackWait) ?? 30_000_000_000)
        maxAckPending = try container.decodeIfPresent(Int.self, forKey: .maxAckPending) ?? 1000
        maxDeliver = try container.decodeIfPresent(Int.self, forKey: .maxDeliver) ?? -1
        deliverPolicy = try container.decodeIfPresent(String.self, forKey: .deliverPolicy) ?? "all"
        maxWaiting = try container.decodeIfPresent(Int.self, forKey: .maxWaiting)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(durableName, forKey: .durableName)
        try container.encodeIfPresent(filterSubject, forKey: .filterSubject)
        try container.encode(ackPolicy, forKey: .ackPolicy)
        try container.encode(ackWait.nanoseconds, forKey: .ackWait)
        try container.encode(maxAckPending, forKey: .maxAckPending)
        try container.encode(maxDeliver, forKey: .maxDeliver)
        try container.encode(deliverPolicy, forKey: .deliverPolicy)
        try container.encodeIfPresent(maxWaiting, forKey: .maxWaiting)
    }
}

/// `$JS.API.CONSUMER.INFO` / `CREATE`'s answer.
public struct ConsumerInfo: Decodable, Sendable {
    public struct SequenceInfo: Decodable, Sendable {
        public var consumerSequence: UInt64
        public var streamSequence: UInt64
        enum CodingKeys: String, CodingKey { case consumerSequence = "consumer_seq", streamSequence = "stream_seq" }
    }

    public var streamName: String
    public var name: String
    public var config: ConsumerConfig
    public var delivered: SequenceInfo
    public var ackFloor: SequenceInfo
    /// Delivered and not yet acked.
    public var numAckPending: Int
    /// Delivered more than once and not yet acked.
    public var numRedelivered: Int
    /// Pull requests waiting.
    public var numWaiting: Int
    /// Left to deliver.
    public var numPending: Int

    enum CodingKeys: String, CodingKey {
        case name, config, delivered
        case streamName = "stream_name", ackFloor = "ack_floor", numAckPending = "num_ack_pending"
        case numRedelivered = "num_redelivered", numWaiting = "num_waiting", numPending = "num_pending"
    }
}

/// JetStream's answer to a publish: where the message was stored, or that it was a duplicate.
public struct PubAck: Decodable, Sendable, Equatable {
    public var stream: String
    public var sequence: UInt64
    /// True when a message with the same `Nats-Msg-Id` was stored within the duplicate window: this one was dropped.
    public var duplicate: Bool

    enum CodingKeys: String, CodingKey { case stream, sequence = "seq", duplicate }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        stream = try container.decode(String.self, forKey: .stream)
        sequence = try container.decode(UInt64.self, forKey: .sequence)
        duplicate = try container.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
    }
}

/// An error answered by the JetStream API (`{"error": {"code", "err_code", "description"}}`).
public struct JetStreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP-like status (`404`, `400`, `503`).
    public var code: Int
    /// JetStream's own code (`10059` stream not found, `10014` consumer not found…).
    public var errorCode: Int
    public var message: String

    public static let streamNotFound = 10059
    public static let consumerNotFound = 10014

    public var description: String { "JetStream error \(code)/\(errorCode): \(message)" }
}

/// Where a JetStream message came from, read off its reply subject
/// (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>`, or the
/// longer form with a domain and account hash).
public struct JetStreamMetadata: Sendable, Equatable {
    public var stream: String
    public var consumer: String
    /// How many times this message has been delivered (1 the first time).
    public var numDelivered: Int
    public var streamSequence: UInt64
    public var consumerSequence: UInt64
    /// When it was stored, in nanoseconds since 1970.
    public var timestamp: Int64
    /// Messages left for the consumer after this one.
    public var numPending: Int

    public init?(replySubject: String) {
        var tokens = replySubject.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        if tokens.count == 9 {
            tokens.insert(contentsOf: ["", ""], at: 2)
        }
        guard tokens.count >= 11, let delivered = Int(tokens[6]), let streamSequence = UInt64(tokens[7]),
            let consumerSequence = UInt64(tokens[8]), let timestamp = Int64(tokens[9]), let pending = Int(tokens[10])
        else { return nil }
        stream = tokens[4]
        consumer = tokens[5]
        numDelivered = delivered
        self.streamSequence = streamSequence
        self.consumerSequence = consumerSequence
        self.timestamp = timestamp
        numPending = pending
    }
}

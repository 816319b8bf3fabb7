import Foundation
import Synchronization

/// The JetStream API over a ``NATSConnection``: streams, durable pull consumers, fetching, acknowledging,
/// and publishing with a ``PubAck``.
public struct JetStream: Sendable {
    public let connection: NATSConnection
    /// `$JS.API` (or a domain's prefix, `$JS.<domain>.API`).
    public var apiPrefix: String
    /// Timeout of API calls and publishes.
    public var timeout: Duration

    public init(connection: NATSConnection, apiPrefix: String = "$JS.API", timeout: Duration = .seconds(5)) {
        self.connection = connection
        self.apiPrefix = apiPrefix
        self.timeout = timeout
    }

    // MARK: Streams and consumers

    public func streamInfo(_ name: String) async throws -> StreamInfo {
        try await call("STREAM.INFO.\(name)", body: nil)
    }

    public func createStream(_ config: StreamConfig) async throws -> StreamInfo {
        try await call("STREAM.CREATE.\(config.name)", body: try JSONEncoder().encode(config))
    }

    public func deleteStream(_ name: String) async throws {
        let _: Success = try await call("STREAM.DELETE.\(name)", body: nil)
    }

    public func consumerInfo(stream: String, consumer: String) async throws -> ConsumerInfo {
        try await call("CONSUMER.INFO.\(stream).\(consumer)", body: nil)
    }

    /// Creates the durable consumer `config.durableName` on `stream` (or returns it, unchanged, when it
    /// exists with the same configuration).
    public func createConsumer(stream: String, config: ConsumerConfig) async throws -> ConsumerInfo {
        struct Request: Encodable {
            var streamName: String
            var config: ConsumerConfig
            enum CodingKeys: String, CodingKey { case streamName = "stream_name", config }
        }
        return try await call(
            "CONSUMER.DURABLE.CREATE.\(stream).\(config.durableName)",
            body: try JSONEncoder().encode(Request(streamName: stream, config: config)))
    }

    /// The consumer's info, creating it with `config` when it does not exist yet.
    public func ensureConsumer(stream: String, config: ConsumerConfig) async throws -> ConsumerInfo {
        do {
            return try await consumerInfo(stream: stream, consumer: config.durableName)
        } catch let error as JetStreamError where error.errorCode == JetStreamError.consumerNotFound {
            return try await createConsumer(stream: stream, config: config)
        }
    }

    // MARK: Publish

    /// Publishes to a subject a stream stores and waits for the stream's acknowledgement. With a
    /// `messageID` (`Nats-Msg-Id`), a repeat within the stream's duplicate window is dropped and answered
    /// with `duplicate: true`.
    ///
    /// - Throws: ``NATSError/noResponders(subject:)`` when no stream stores `subject`, ``JetStreamError``,
    ///   ``NATSError/timeout``.
    public func publish(to subject: String, payload: [UInt8], headers: NATSHeaders = NATSHeaders(), messageID: String? = nil) async throws -> PubAck {
        var headers = headers
        if let messageID { headers["Nats-Msg-Id"] = messageID }
        let answer = try await connection.request(subject, payload: payload, headers: headers, timeout: timeout)
        return try Self.decode(answer.payload)
    }

    // MARK: Pull

    /// Asks a pull consumer for up to `batch` messages and returns those that came: all of them, or fewer
    /// when the consumer had no more (`noWait`) or `expires` passed first.
    ///
    /// Every returned message must be acknowledged (``JetStreamMessage/ack()`` and the like); one left
    /// alone is delivered again after the consumer's `AckWait`.
    public func fetch(stream: String, consumer: String, batch: Int, expires: Duration = .seconds(1), noWait: Bool = false) async throws -> [JetStreamMessage] {
        precondition(batch > 0, "batch must be positive")
        let inbox = connection.newInbox()
        let collector = FetchCollector(batch: batch)
        let sid = try connection.subscribe(to: inbox, queue: nil, handler: { collector.add($0) })
        defer { connection.unsubscribe(sid: sid) }
        var request: [String: Any] = ["batch": batch]
        if noWait { request["no_wait"] = true } else { request["expires"] = expires.nanoseconds }
        let body = try JSONSerialization.data(withJSONObject: request)
        try connection.publish(to: "\(apiPrefix).CONSUMER.MSG.NEXT.\(stream).\(consumer)", payload: Array(body), replyTo: inbox)
        // The server ends the request itself (408 at expiry); the local limit only guards against a lost answer.
        let messages = try await collector.wait(timeout: (noWait ? timeout : expires + .seconds(2)))
        return messages.map { JetStreamMessage(message: $0, connection: connection) }
    }

    // MARK: Calls

    private struct Success: Decodable {}

    private func call<Answer: Decodable>(_ api: String, body: Data?) async throws -> Answer {
        let answer = try await connection.request("\(apiPrefix).\(api)", payload: body.map(Array.init) ?? [], timeout: timeout)
        return try Self.decode(answer.payload)
    }

    static func decode<Answer: Decodable>(_ payload: [UInt8]) throws -> Answer {
        let data = Data(payload)
        if let failure = try? JSONDecoder().decode(APIErrorBody.self, from: data), let error = failure.error {
            throw JetStreamError(code: error.code, errorCode: error.errCode ?? 0, message: error.description ?? "")
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: data)
        } catch {
            throw NATSError.protocolError("unreadable JetStream answer: \(error)")
        }
    }
}

/// The error member every JetStream API answer may carry.
private struct APIErrorBody: Decodable {
    struct Detail: Decodable {
        var code: Int
        var errCode: Int?
        var description: String?
        enum CodingKeys: String, CodingKey { case code, description, errCode = "err_code" }
    }
    var error: Detail?
}

/// Gathers the answers to one pull request until the batch is full or the server ends the request.
private final class FetchCollector: Sendable {
    private struct State {
        var messages: [NATSMessage] = []
        var done = false
        var waiter: CheckedContinuation<[NATSMessage], any Error>?
    }

    private let batch: Int
    private let state = Mutex(State())

    init(batch: Int) { self.batch = batch }

    func add(_ message: NATSMessage) {
        let resume = state.withLock { state -> (CheckedContinuation<[NATSMessage], any Error>, [NATSMessage])? in
            guard !state.done else { return nil }
            if let status = message.status {
                // 404 no messages, 408 request expired, 409 consumer changed or limits hit; 100 heartbeat.
                if status == 100 { return nil }
                state.done = true
            } else {
                state.messages.append(message)
                if state.messages.count >= batch { state.done = true }
            }
            guard state.done, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.messages)
        }
        if let (waiter, messages) = resume { waiter.resume(returning: messages) }
    }

    func wait(timeout: Duration) async throws -> [NATSMessage] {
        try await withCheckedThrowingContinuation { continuation in
            let done = state.withLock { state -> [NATSMessage]? in
                if state.done { return state.messages }
                state.waiter = continuation
                return nil
            }
            if let done {
                continuation.resume(returning: done)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let resume = self.state.withLock { state -> (CheckedContinuation<[NATSMessage], any Error>, [NATSMessage])? in
                    state.done = true
                    guard let waiter = state.waiter else { return nil }
                    state.waiter = nil
                    return (waiter, state.messages)
                }
                if let (waiter, messages) = resume { waiter.resume(returning: messages) }
            }
        }
    }
}

/// A message delivered by a JetStream consumer, with its ``metadata`` and the acknowledgements.
public struct JetStreamMessage: Sendable {
    public let message: NATSMessage
    let connection: NATSConnection

    public init(message: NATSMessage, connection: NATSConnection) {
        self.message = message
        self.connection = connection
    }

    public var subject: String { message.subject }
    public var payload: [UInt8] { message.payload }
    public var headers: NATSHeaders { message.headers }
    /// Stream, consumer, sequences and delivery count; nil when the reply subject is not a JetStream ack subject.
    public var metadata: JetStreamMetadata? { message.replyTo.flatMap(JetStreamMetadata.init(replySubject:)) }

    /// Done with it: it will not be delivered again.
    public func ack() throws(NATSError) { try send("+ACK") }

    /// Acknowledges and waits until the server has recorded it.
    public func ackSync(timeout: Duration = .seconds(5)) async throws {
        guard let reply = message.replyTo else { return }
        _ = try await connection.request(reply, payload: Array("+ACK".utf8), timeout: timeout)
    }

    /// Not now: deliver it again, after `delay` if given.
    public func nak(delay: Duration? = nil) throws(NATSError) {
        if let delay { try send("-NAK {\"delay\":\(delay.nanoseconds)}") } else { try send("-NAK") }
    }

    /// Never deliver it again (it cannot be processed).
    public func term() throws(NATSError) { try send("+TERM") }

    /// Still working on it: its `AckWait` starts again.
    public func inProgress() throws(NATSError) { try send("+WPI") }

    private func send(_ text: String) throws(NATSError) {
        guard let reply = message.replyTo else { return }
        try connection.publish(to: reply, payload: Array(text.utf8))
    }
}

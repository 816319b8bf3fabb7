/// The messages of one subscription, as an async sequence; it ends when the subscription is unsubscribed,
/// drained or its connection closes.
public final class NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    private let connection: NATSConnection
    /// The subscription id the server knows it by.
    public let sid: UInt64
    public let subject: String
    public let queue: String?
    private let stream: AsyncStream<NATSMessage>

    init(connection: NATSConnection, sid: UInt64, subject: String, queue: String?, stream: AsyncStream<NATSMessage>) {
        self.connection = connection
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.stream = stream
    }

    public func makeAsyncIterator() -> AsyncStream<NATSMessage>.AsyncIterator { stream.makeAsyncIterator() }

    /// Stops at once; messages already buffered are still delivered, then the sequence ends.
    public func unsubscribe() { connection.unsubscribe(sid: sid) }

    /// Unsubscribes and waits until the server has stopped sending, so that every message sent to this
    /// subscription is in its buffer; the sequence ends after them.
    public func drain(timeout: Duration = .seconds(5)) async throws { try await connection.drain(sid: sid, timeout: timeout) }
}

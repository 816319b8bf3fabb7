import NIOCore
import Synchronization

/// A message delivered to a consumer (`basic.deliver` with its content).
public struct AMQPDelivery: Sendable {
    /// The channel it came on: acks must go back on it.
    public var channel: UInt16
    public var consumerTag: String
    /// The channel-scoped tag to ack, nack or reject it with.
    public var deliveryTag: UInt64
    /// Whether the broker delivered it before (to this or another consumer) without an ack.
    public var redelivered: Bool
    public var exchange: String
    public var routingKey: String
    public var properties: AMQPProperties
    public var body: [UInt8]
}

/// The deliveries of one consumer, in order. It ends when the consumer is cancelled (by ``AMQPChannel/cancel(_:)``
/// or by the broker), or when its channel or connection closes; unacked deliveries then go back to the queue.
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    /// The consumer tag (cancel it with this).
    public let tag: String
    let stream: AsyncStream<AMQPDelivery>

    public func makeAsyncIterator() -> AsyncStream<AMQPDelivery>.AsyncIterator { stream.makeAsyncIterator() }
}

/// One AMQP channel: declarations, prefetch, consuming with manual acks, and publishing under publisher
/// confirms. Methods may be called from any task; replies are matched in order.
public struct AMQPChannel: Sendable {
    public let connection: AMQPConnection
    public let id: UInt16

    init(connection: AMQPConnection, id: UInt16) {
        self.connection = connection
        self.id = id
    }

    // MARK: Declarations

    /// Declares a queue (`queue.declare`) and returns its name (the broker's when `name` is empty), messages
    /// ready and consumers. Redeclaring with other arguments is a channel error (406 PRECONDITION_FAILED),
    /// thrown as ``AMQPError/channelClosed(code:text:)``; the channel is then unusable.
    @discardableResult
    public func declareQueue(
        _ name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false, passive: Bool = false,
        arguments: AMQPFieldTable = [:]
    ) async throws -> (name: String, messageCount: UInt32, consumerCount: UInt32) {
        let reply = try await connection.call(
            channel: id,
            .queueDeclare(
                queue: name, passive: passive, durable: durable, exclusive: exclusive,
                autoDelete: autoDelete, noWait: false, arguments: arguments),
            expecting: [(50, 11)])
        guard case .queueDeclareOk(let queue, let messages, let consumers) = reply else { throw AMQPError.unexpectedFrame("\(reply)") }
        return (queue, messages, consumers)
    }

    /// Declares an exchange (`exchange.declare`): `type` is direct, topic, fanout or headers.
    public func declareExchange(
        _ name: String, type: String = "direct", durable: Bool = true, autoDelete: Bool = false,
        isInternal: Bool = false, passive: Bool = false, arguments: AMQPFieldTable = [:]
    ) async throws {
        _ = try await connection.call(
            channel: id,
            .exchangeDeclare(
                exchange: name, type: type, passive: passive, durable: durable,
                autoDelete: autoDelete, isInternal: isInternal, noWait: false, arguments: arguments),
            expecting: [(40, 11)])
    }

    /// Binds a queue to an exchange (`queue.bind`).
    public func bindQueue(_ queue: String, exchange: String, routingKey: String, arguments: AMQPFieldTable = [:]) async throws {
        _ = try await connection.call(
            channel: id,
            .queueBind(
                queue: queue, exchange: exchange, routingKey: routingKey, noWait: false,
                arguments: arguments), expecting: [(50, 21)])
    }

    /// Deletes a queue and returns how many messages it held.
    @discardableResult
    public func deleteQueue(_ queue: String) async throws -> UInt32 {
        let reply = try await connection.call(
            channel: id, .queueDelete(queue: queue, ifUnused: false, ifEmpty: false, noWait: false),
            expecting: [(50, 41)])
        guard case .queueDeleteOk(let count) = reply else { throw AMQPError.unexpectedFrame("\(reply)") }
        return count
    }

    /// Removes a queue's ready messages and returns how many.
    @discardableResult
    public func purgeQueue(_ queue: String) async throws -> UInt32 {
        let reply = try await connection.call(channel: id, .queuePurge(queue: queue, noWait: false), expecting: [(50, 31)])
        guard case .queuePurgeOk(let count) = reply else { throw AMQPError.unexpectedFrame("\(reply)") }
        return count
    }

    // MARK: Consuming

    /// At most `prefetchCount` unacked deliveries on this channel's consumers (`basic.qos`, per consumer as
    /// RabbitMQ applies it with `global` false).
    public func qos(prefetchCount: UInt16, global: Bool = false) async throws {
        _ = try await connection.call(channel: id, .basicQos(prefetchSize: 0, prefetchCount: prefetchCount, global: global), expecting: [(60, 11)])
    }

    /// Starts a consumer (`basic.consume`). With manual acks (`noAck` false, the default) every delivery must be
    /// acked, nacked or rejected on this channel, and ``qos(prefetchCount:global:)`` bounds how many are
    /// outstanding. RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`) must be consumed with `noAck` true.
    public func consume(
        queue: String, tag: String? = nil, noAck: Bool = false, exclusive: Bool = false,
        arguments: AMQPFieldTable = [:]
    ) async throws -> AMQPConsumer {
        let tag = tag ?? "amqp-\(UInt64.random(in: 0...UInt64.max))"
        let (stream, continuation) = AsyncStream<AMQPDelivery>.makeStream()
        // Registered before the request: a delivery may follow consume-ok at once.
        try connection.state.withLock { state throws(AMQPError) in
            guard state.channels[id] != nil else { throw state.closeReason ?? .closed }
            state.channels[id]!.consumers[tag] = continuation
        }
        do {
            _ = try await connection.call(
                channel: id,
                .basicConsume(
                    queue: queue, consumerTag: tag, noLocal: false, noAck: noAck,
                    exclusive: exclusive, noWait: false, arguments: arguments),
                expecting: [(60, 21)])
        } catch {
            continuation.finish()
            throw error
        }
        return AMQPConsumer(tag: tag, stream: stream)
    }

    /// Cancels a consumer (`basic.cancel`): the broker stops delivering, and its sequence ends after the
    /// deliveries already received. Those still need their acks.
    public func cancel(_ consumerTag: String) async throws {
        _ = try await connection.call(channel: id, .basicCancel(consumerTag: consumerTag, noWait: false), expecting: [(60, 31)])
    }

    /// Acknowledges a delivery (and, with `multiple`, every earlier one on this channel).
    public func ack(_ deliveryTag: UInt64, multiple: Bool = false) throws(AMQPError) {
        try connection.send(channel: id, .basicAck(deliveryTag: deliveryTag, multiple: multiple))
    }

    /// Refuses a delivery: back to the queue with `requeue`, otherwise dropped or dead-lettered.
    public func nack(_ deliveryTag: UInt64, multiple: Bool = false, requeue: Bool) throws(AMQPError) {
        try connection.send(channel: id, .basicNack(deliveryTag: deliveryTag, multiple: multiple, requeue: requeue))
    }

    /// Refuses one delivery (`basic.reject`): back to the queue with `requeue`, otherwise dropped or dead-lettered
    /// (to the queue's `x-dead-letter-exchange`, when it has one).
    public func reject(_ deliveryTag: UInt64, requeue: Bool) throws(AMQPError) {
        try connection.send(channel: id, .basicReject(deliveryTag: deliveryTag, requeue: requeue))
    }

    // MARK: Publishing

    /// Puts the channel in confirm mode (`confirm.select`): from here every ``publish(_:exchange:routingKey:properties:mandatory:)``
    /// waits for the broker's ack.
    public func confirmSelect() async throws {
        _ = try await connection.call(channel: id, .confirmSelect(noWait: false), expecting: [(85, 11)])
        connection.state.withLock { $0.channels[id]?.confirming = true }
    }

    /// Publishes a message (`basic.publish`, its content header and body frames split to the tuned
    /// `frame_max`). While the broker blocks publishers (`connection.blocked`) it waits first.
    ///
    /// In confirm mode it returns once the broker acks the message, which for a durable queue and a persistent
    /// message (`deliveryMode` 2) means it is stored (on a quorum queue, by a majority), and throws
    /// ``AMQPError/publishNacked`` on a nack. Without confirm mode it returns once the frames are queued.
    /// A message routed to no queue is acked too (it is dropped, or returned when `mandatory`).
    public func publish(
        _ body: [UInt8], exchange: String, routingKey: String, properties: AMQPProperties = AMQPProperties(),
        mandatory: Bool = false
    ) async throws {
        try await connection.waitUntilUnblocked()
        let header = AMQPContentHeader(bodySize: UInt64(body.count), properties: properties)
        let method = AMQPMethod.basicPublish(exchange: exchange, routingKey: routingKey, mandatory: mandatory, immediate: false)
        let confirming = connection.state.withLock { $0.channels[id]?.confirming ?? false }
        guard confirming else {
            try connection.state.withLock { state throws(AMQPError) in
                guard state.channels[id] != nil else { throw state.closeReason ?? .closed }
                try connection.write(&state, channel: id, method, header: header, body: body)
            }
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            do {
                try connection.state.withLock { state throws(AMQPError) in
                    guard state.channels[id] != nil else { throw state.closeReason ?? .closed }
                    try connection.write(&state, channel: id, method, header: header, body: body)
                    let tag = state.channels[id]!.nextPublishTag
                    state.channels[id]!.nextPublishTag += 1
                    state.channels[id]!.unconfirmed[tag] = continuation
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Messages the broker returned as unroutable on this channel (published with `mandatory`).
    public var returnedCount: Int { connection.state.withLock { $0.channels[id]?.returned ?? 0 } }

    /// Closes the channel (`channel.close`); its consumers end and their unacked deliveries go back to their queues.
    public func close() async throws {
        _ = try await connection.call(channel: id, .channelClose(replyCode: 200, replyText: "bye", classID: 0, methodID: 0), expecting: [(20, 41)])
    }
}

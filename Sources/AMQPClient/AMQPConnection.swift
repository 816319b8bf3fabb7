import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One AMQP 0-9-1 connection to a broker (RabbitMQ): the handshake (PLAIN, tune, heartbeats, TLS for
/// `amqps://`), channels, and the broker's `connection.blocked`/`unblocked`.
///
/// ```swift
/// let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1"))
/// let channel = try await connection.openChannel()
/// try await channel.confirmSelect()
/// try await channel.publish(Array("hello".utf8), exchange: "", routingKey: "greetings")
/// await connection.close()
/// ```
///
/// The connection does not reconnect by itself: a lost connection fails what waits on it, ends its consumers,
/// and ``closeReason()`` returns why. Reconnecting, and declaring and consuming again, belongs to the
/// caller, which knows what it declared (see ``AMQPBackoff``). All methods may be called from any task.
public final class AMQPConnection: Sendable {
    struct PendingReply {
        var expected: [(UInt16, UInt16)]
        var continuation: CheckedContinuation<AMQPMethod, any Error>
    }

    struct ChannelState {
        var replies: [PendingReply] = []
        var consumers: [String: AsyncStream<AMQPDelivery>.Continuation] = [:]
        var confirming = false
        var nextPublishTag: UInt64 = 1
        var unconfirmed: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var returned = 0
    }

    struct State {
        var socket: (any Channel)?
        var closeReason: AMQPError?
        var closing = false
        var channels: [UInt16: ChannelState] = [:]
        var nextChannelID: UInt16 = 1
        var channelMax: UInt16 = 2047
        var frameMax = AMQPFrame.minimumFrameMax
        var heartbeat: Duration = .zero
        var blocked: String?
        var unblockWaiters: [CheckedContinuation<Void, any Error>] = []
        var closeWaiters: [CheckedContinuation<AMQPError, Never>] = []
        var closeOk: CheckedContinuation<Void, Never>?
        var lastReceived = ContinuousClock.now
        var serverProperties = AMQPFieldTable()
    }

    public let configuration: AMQPConfiguration
    let logger: Logger
    let state = Mutex(State())

    private init(configuration: AMQPConfiguration) {
        self.configuration = configuration
        self.logger = configuration.logger
    }

    // MARK: Connecting

    /// Connects and completes the handshake: protocol header, `start`/`start-ok` (PLAIN), `tune`/`tune-ok`,
    /// `open`/`open-ok` on the configuration's virtual host.
    ///
    /// - Throws: ``AMQPError/connectionFailed(_:)``, ``AMQPError/authenticationFailed(_:)``,
    ///   ``AMQPError/connectionClosed(code:text:)`` (an unknown vhost, say), ``AMQPError/timeout(_:)``, and the
    ///   codec's errors when the peer is not an AMQP 0-9-1 broker.
    public static func connect(_ configuration: AMQPConfiguration) async throws -> AMQPConnection {
        let connection = AMQPConnection(configuration: configuration)
        try await connection.establish()
        return connection
    }

    private func establish() async throws {
        let configuration = configuration
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let ready = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout.amqpTimeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if configuration.useTLS {
                        let context = try NIOSSLContext(configuration: configuration.tlsConfiguration ?? .makeClientConfiguration())
                        let isAddress = configuration.host.contains(":") || configuration.host.allSatisfy { $0.isNumber || $0 == "." }
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : configuration.host))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(AMQPFrameDecoder(maxFrameSize: configuration.maxFrameSize)),
                        AMQPChannelHandler(connection: self, ready: ready),
                    ])
                }
            }
        let socket: any Channel
        do {
            socket = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            ready.fail(error)
            throw AMQPError.connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        state.withLock { $0.socket = socket }
        let timeout = loop.scheduleTask(in: configuration.connectTimeout.amqpTimeAmount) {
            ready.fail(AMQPError.timeout("the AMQP handshake with \(configuration.host):\(configuration.port)"))
            socket.close(promise: nil)
        }
        defer { timeout.cancel() }
        do {
            try await socket.writeAndFlush(socket.allocator.buffer(bytes: AMQPFrame.protocolHeader))
            try await ready.futureResult.get()
        } catch {
            socket.close(promise: nil)
            throw error
        }
        let heartbeat = state.withLock { $0.heartbeat }
        if heartbeat > .zero { startHeartbeats(every: heartbeat) }
    }

    /// The properties the broker announced (`product`, `version`, `capabilities`…).
    public var serverProperties: AMQPFieldTable { state.withLock { $0.serverProperties } }
    /// The tuned `frame_max`.
    public var frameMax: Int { state.withLock { $0.frameMax } }
    /// Whether the connection is open (not closed, not lost).
    public var isOpen: Bool { state.withLock { $0.closeReason == nil && $0.socket != nil } }
    /// The broker's reason while it blocks publishers (`connection.blocked`, a memory or disk alarm); nil otherwise.
    public var blockedReason: String? { state.withLock { $0.blocked } }

    /// Waits until the connection is closed or lost and returns why (``AMQPError/closed`` after ``close()``).
    public func closeReason() async -> AMQPError {
        await withCheckedContinuation { continuation in
            let reason = state.withLock { state -> AMQPError? in
                if let reason = state.closeReason { return reason }
                state.closeWaiters.append(continuation)
                return nil
            }
            if let reason { continuation.resume(returning: reason) }
        }
    }

    // MARK: Channels

    /// Opens a channel (`channel.open`).
    public func openChannel() async throws -> AMQPChannel {
        let id = try state.withLock { state throws(AMQPError) -> UInt16 in
            if let reason = state.closeReason { throw reason }
            var id = state.nextChannelID
            var tries = 0
            while state.channels[id] != nil {
                id = id >= state.channelMax ? 1 : id + 1
                tries += 1
                guard tries <= Int(state.channelMax) else { throw .unexpectedFrame("no free channel (channel_max \(state.channelMax))") }
            }
            state.nextChannelID = id >= state.channelMax ? 1 : id + 1
            state.channels[id] = ChannelState()
            return id
        }
        let channel = AMQPChannel(connection: self, id: id)
        do {
            _ = try await call(channel: id, .channelOpen, expecting: [(20, 11)])
        } catch {
            _ = state.withLock { $0.channels.removeValue(forKey: id) }
            throw error
        }
        return channel
    }

    // MARK: Closing

    /// Closes the connection (`connection.close`, waiting up to 5 s for `close-ok`); what waits on it fails
    /// with ``AMQPError/closed``. Unacked deliveries go back to their queues on the broker.
    public func close() async {
        let socket = state.withLock { state -> (any Channel)? in
            guard state.closeReason == nil, !state.closing else { return nil }
            state.closing = true
            return state.socket
        }
        guard let socket else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let sent = state.withLock { state -> Bool in
                do {
                    try write(&state, channel: 0, .connectionClose(replyCode: 200, replyText: "goodbye", classID: 0, methodID: 0))
                    state.closeOk = continuation
                    return true
                } catch {
                    return false
                }
            }
            if !sent {
                continuation.resume()
                return
            }
            socket.eventLoop.scheduleTask(in: .seconds(5)) { [weak self] in
                self?.state.withLock { state in
                    defer { state.closeOk = nil }
                    return state.closeOk
                }?.resume()
            }
        }
        shutDown(.closed)
        try? await socket.close()
    }

    /// Fails everything that waits, ends the consumers, records `reason`; once.
    func shutDown(_ reason: AMQPError) {
        typealias Taken = (
            reason: AMQPError, channels: [ChannelState], unblock: [CheckedContinuation<Void, any Error>],
            close: [CheckedContinuation<AMQPError, Never>], closeOk: CheckedContinuation<Void, Never>?, socket: (any Channel)?
        )
        let taken = state.withLock { state -> Taken? in
            guard state.closeReason == nil else { return nil }
            // Once close() has begun, the socket going away is the close, not a loss.
            let reason = state.closing ? AMQPError.closed : reason
            state.closeReason = reason
            defer {
                state.channels = [:]
                state.unblockWaiters = []
                state.closeWaiters = []
                state.closeOk = nil
            }
            return (reason, Array(state.channels.values), state.unblockWaiters, state.closeWaiters, state.closeOk, state.socket)
        }
        guard let taken else { return }
        for channel in taken.channels { Self.fail(channel, with: taken.reason) }
        for waiter in taken.unblock { waiter.resume(throwing: taken.reason) }
        for waiter in taken.close { waiter.resume(returning: taken.reason) }
        taken.closeOk?.resume()
        // Queued after the writes issued before it (the close-ok to the broker's connection.close among them).
        if let socket = taken.socket { Self.enqueue(on: socket) { $0.close(promise: nil) } }
    }

    static func fail(_ channel: ChannelState, with error: AMQPError) {
        for reply in channel.replies { reply.continuation.resume(throwing: error) }
        for waiter in channel.unconfirmed.values { waiter.resume(throwing: error) }
        for consumer in channel.consumers.values { consumer.finish() }
    }

    // MARK: Writing

    /// Encodes frames and hands them to the socket under the lock, so frames of concurrent calls never
    /// interleave (a publish's method, header and body frames stay together) and keep call order.
    func write(
        _ state: inout State, channel: UInt16, _ method: AMQPMethod, header: AMQPContentHeader? = nil,
        body: [UInt8] = []
    ) throws(AMQPError) {
        if let reason = state.closeReason { throw reason }
        guard let socket = state.socket else { throw .connectionLost }
        let frameMax = state.frameMax
        var buffer = socket.allocator.buffer(capacity: 64 + body.count + (body.count / max(1, frameMax - AMQPFrame.overhead) + 2) * AMQPFrame.overhead)
        var payload = socket.allocator.buffer(capacity: 64)
        try method.encode(into: &payload)
        try Self.append(.method, channel: channel, payload: payload, frameMax: frameMax, to: &buffer)
        if let header {
            payload.clear()
            try header.encode(into: &payload)
            try Self.append(.header, channel: channel, payload: payload, frameMax: frameMax, to: &buffer)
            let chunk = frameMax - AMQPFrame.overhead
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + chunk)
                payload.clear()
                payload.writeBytes(body[offset..<end])
                try Self.append(.body, channel: channel, payload: payload, frameMax: frameMax, to: &buffer)
                offset = end
            }
        }
        let frames = buffer
        Self.enqueue(on: socket) { $0.writeAndFlush(frames, promise: nil) }
    }

    /// Runs `operation` on the socket's event loop as a task of its own, never inline. Writes are encoded while
    /// the state lock is held (their order is the order of delivery tags and publish sequence numbers), and a
    /// write made inline on the event loop (the close-ok answering the broker's `connection.close`, say) can
    /// fail at once, close the socket and run `channelInactive`, which takes that same lock: a recursive lock,
    /// a crash. Queued, the operations keep the order in which they were issued (the loop runs its tasks in
    /// order, and a write from another thread is queued the same way).
    static func enqueue(on socket: any Channel, _ operation: @escaping @Sendable (any Channel) -> Void) {
        socket.eventLoop.execute { operation(socket) }
    }

    /// One frame into `buffer`, refused when over `frameMax` (checked before anything is sent).
    static func append(_ kind: AMQPFrame.Kind, channel: UInt16, payload: ByteBuffer, frameMax: Int, to buffer: inout ByteBuffer) throws(AMQPError) {
        let size = payload.readableBytes + AMQPFrame.overhead
        guard size <= frameMax else { throw .frameTooLarge(size: size, limit: frameMax) }
        AMQPFrame(kind: kind, channel: channel, payload: payload).encode(into: &buffer)
    }

    /// Sends a synchronous method on `channel` and waits for its reply (one of `expecting`). Replies come in
    /// the order of the requests on a channel, so they are matched first in, first out.
    func call(channel: UInt16, _ method: AMQPMethod, expecting: [(UInt16, UInt16)]) async throws -> AMQPMethod {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try state.withLock { state throws(AMQPError) in
                    guard state.channels[channel] != nil else { throw state.closeReason ?? .closed }
                    try write(&state, channel: channel, method)
                    state.channels[channel]!.replies.append(PendingReply(expected: expecting, continuation: continuation))
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Sends a method that has no reply.
    func send(channel: UInt16, _ method: AMQPMethod) throws(AMQPError) {
        try state.withLock { state throws(AMQPError) in
            guard state.channels[channel] != nil else { throw state.closeReason ?? .closed }
            try write(&state, channel: channel, method)
        }
    }

    /// Waits while the broker blocks publishers.
    func waitUntilUnblocked() async throws {
        guard state.withLock({ $0.blocked != nil }) else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resume = state.withLock { state -> Result<Void, AMQPError>? in
                if let reason = state.closeReason { return .failure(reason) }
                guard state.blocked != nil else { return .success(()) }
                state.unblockWaiters.append(continuation)
                return nil
            }
            if let resume { continuation.resume(with: resume) }
        }
    }

    // MARK: Heartbeats

    private func startHeartbeats(every heartbeat: Duration) {
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: heartbeat / 2)
                guard let self else { return }
                let silent = state.withLock { state -> Duration? in
                    guard state.closeReason == nil, let socket = state.socket else { return nil }
                    var buffer = socket.allocator.buffer(capacity: 8)
                    AMQPFrame.heartbeat().encode(into: &buffer)
                    let frame = buffer
                    Self.enqueue(on: socket) { $0.writeAndFlush(frame, promise: nil) }
                    return ContinuousClock.now - state.lastReceived
                }
                guard let silent else { return }
                if silent > heartbeat * 2 {
                    logger.warning("AMQP broker silent for two heartbeats; closing the connection", metadata: ["silent_s": "\(silent)"])
                    shutDown(.timeout("a heartbeat from the broker"))
                    return
                }
            }
        }
    }

    // MARK: Reading (on the event loop)

    /// The handshake's tune: negotiates `frame_max`, `channel_max` and the heartbeat, and returns `tune-ok`.
    func tune(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16) -> AMQPMethod {
        let ours = UInt32(min(configuration.maxFrameSize, Int(UInt32.max)))
        let frame = frameMax == 0 ? ours : min(frameMax, ours)
        let channels = channelMax == 0 ? 2047 : min(channelMax, 2047)
        let proposed = UInt16(clamping: configuration.heartbeat.components.seconds)
        let beat = proposed == 0 || heartbeat == 0 ? 0 : min(proposed, heartbeat)
        state.withLock {
            $0.frameMax = Int(frame)
            $0.channelMax = channels
            $0.heartbeat = .seconds(Int(beat))
        }
        return .connectionTuneOk(channelMax: channels, frameMax: frame, heartbeat: beat)
    }

    func handshakeDone(serverProperties: AMQPFieldTable) {
        state.withLock { $0.serverProperties = serverProperties }
    }

    func touched() {
        state.withLock { $0.lastReceived = .now }
    }

    /// A method frame, or a whole delivery, after the handshake.
    func received(_ method: AMQPMethod, channel: UInt16, content: (AMQPContentHeader, [UInt8])? = nil) {
        if channel == 0 {
            receivedOnConnection(method)
            return
        }
        switch method {
        case .basicDeliver(let tag, let deliveryTag, let redelivered, let exchange, let routingKey):
            guard let (header, body) = content else { return }
            let consumer = state.withLock { $0.channels[channel]?.consumers[tag] }
            let delivery = AMQPDelivery(
                channel: channel, consumerTag: tag, deliveryTag: deliveryTag, redelivered: redelivered,
                exchange: exchange, routingKey: routingKey, properties: header.properties, body: body)
            if consumer?.yield(delivery) == nil {
                logger.warning("AMQP delivery for an unknown consumer", metadata: ["consumer_tag": "\(tag)", "channel": "\(channel)"])
            }
        case .basicReturn(let code, let text, let exchange, let routingKey):
            state.withLock { $0.channels[channel]?.returned += 1 }
            logger.warning(
                "AMQP message returned unroutable",
                metadata: [
                    "code": "\(code)", "text": "\(text)", "exchange": "\(exchange)", "routing_key": "\(routingKey)",
                ])
        case .basicAck(let tag, let multiple), .basicNack(let tag, let multiple, _):
            let isAck = if case .basicAck = method { true } else { false }
            let settled = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
                guard var entry = state.channels[channel] else { return [] }
                var waiters: [CheckedContinuation<Void, any Error>] = []
                if multiple {
                    for key in entry.unconfirmed.keys where key <= tag { waiters.append(entry.unconfirmed.removeValue(forKey: key)!) }
                } else if let waiter = entry.unconfirmed.removeValue(forKey: tag) {
                    waiters.append(waiter)
                }
                state.channels[channel] = entry
                return waiters
            }
            for waiter in settled {
                if isAck { waiter.resume() } else { waiter.resume(throwing: AMQPError.publishNacked) }
            }
        case .basicCancel(let tag, let noWait):
            // The broker cancelled the consumer (its queue was deleted, a quorum queue lost its leader…).
            let consumer = state.withLock { $0.channels[channel]?.consumers.removeValue(forKey: tag) }
            consumer?.finish()
            if !noWait { try? send(channel: channel, .basicCancelOk(consumerTag: tag)) }
            logger.warning("AMQP consumer cancelled by the broker", metadata: ["consumer_tag": "\(tag)"])
        case .channelFlow(let active):
            try? send(channel: channel, .channelFlowOk(active: active))
        case .channelClose(let code, let text, _, _):
            let entry = state.withLock { state -> ChannelState? in
                let entry = state.channels.removeValue(forKey: channel)
                if entry != nil { try? write(&state, channel: channel, .channelCloseOk) }
                return entry
            }
            if let entry { Self.fail(entry, with: .channelClosed(code: code, text: text)) }
        default:
            let reply = state.withLock { state -> PendingReply? in
                guard var entry = state.channels[channel], !entry.replies.isEmpty else { return nil }
                let reply = entry.replies.removeFirst()
                if case .basicCancelOk(let tag) = method { entry.consumers.removeValue(forKey: tag)?.finish() }
                if case .channelCloseOk = method {
                    state.channels.removeValue(forKey: channel)
                    Self.fail(entry, with: .closed)
                } else {
                    state.channels[channel] = entry
                }
                return reply
            }
            guard let reply else {
                logger.warning("unexpected AMQP method", metadata: ["method": "\(method.id)", "channel": "\(channel)"])
                return
            }
            if reply.expected.contains(where: { $0 == method.id }) {
                reply.continuation.resume(returning: method)
            } else {
                reply.continuation.resume(throwing: AMQPError.unexpectedFrame("method \(method.id.classID).\(method.id.methodID) in reply"))
            }
        }
    }

    private func receivedOnConnection(_ method: AMQPMethod) {
        switch method {
        case .connectionClose(let code, let text, _, _):
            logger.warning("the AMQP broker closed the connection", metadata: ["code": "\(code)", "text": "\(text)"])
            state.withLock { state in try? write(&state, channel: 0, .connectionCloseOk) }
            shutDown(.connectionClosed(code: code, text: text))
        case .connectionCloseOk:
            state.withLock { state in
                defer { state.closeOk = nil }
                return state.closeOk
            }?.resume()
        case .connectionBlocked(let reason):
            logger.warning("the AMQP broker blocks publishing", metadata: ["reason": "\(reason)"])
            state.withLock { $0.blocked = reason }
        case .connectionUnblocked:
            let waiters = state.withLock { state in
                state.blocked = nil
                defer { state.unblockWaiters = [] }
                return state.unblockWaiters
            }
            logger.notice("the AMQP broker unblocked publishing")
            for waiter in waiters { waiter.resume() }
        default:
            logger.warning("unexpected AMQP method on channel 0", metadata: ["method": "\(method.id)"])
        }
    }
}

/// Drives the handshake, reassembles deliveries (method, content header, body frames) and forwards the
/// rest to its connection; a codec error closes the socket and becomes the connection's close reason.
final class AMQPChannelHandler: ChannelInboundHandler {
    typealias InboundIn = AMQPFrame

    private enum Phase { case start, tune, open, ready }

    /// A delivery or return being reassembled on one channel.
    private struct Partial {
        var method: AMQPMethod
        var header: AMQPContentHeader?
        var body: [UInt8] = []
    }

    private let connection: AMQPConnection
    private let ready: EventLoopPromise<Void>
    private var phase = Phase.start
    private var serverProperties = AMQPFieldTable()
    private var partial: [UInt16: Partial] = [:]
    private var failure: AMQPError?

    init(connection: AMQPConnection, ready: EventLoopPromise<Void>) {
        self.connection = connection
        self.ready = ready
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        connection.touched()
        do throws(AMQPError) {
            try handle(frame, context: context)
        } catch {
            fail(error, context: context)
        }
    }

    private func handle(_ frame: AMQPFrame, context: ChannelHandlerContext) throws(AMQPError) {
        switch frame.kind {
        case .heartbeat:
            return
        case .method:
            let method = try AMQPMethod.decode(frame.payload)
            if phase != .ready {
                try handshake(method, context: context)
                return
            }
            guard partial[frame.channel] == nil else {
                throw .unexpectedFrame("method \(method.id.classID).\(method.id.methodID) inside a message on channel \(frame.channel)")
            }
            if method.hasContent {
                partial[frame.channel] = Partial(method: method)
            } else {
                connection.received(method, channel: frame.channel)
            }
        case .header:
            guard var message = partial[frame.channel], message.header == nil else {
                throw .unexpectedFrame("content header without a method on channel \(frame.channel)")
            }
            let header = try AMQPContentHeader.decode(frame.payload)
            message.header = header
            partial[frame.channel] = message
            if header.bodySize == 0 { complete(channel: frame.channel) }
        case .body:
            guard var message = partial[frame.channel], let header = message.header else {
                throw .unexpectedFrame("body frame without a header on channel \(frame.channel)")
            }
            guard UInt64(message.body.count + frame.payload.readableBytes) <= header.bodySize else {
                throw .malformedFrame("body frames longer than the \(header.bodySize) bytes announced")
            }
            partial[frame.channel] = nil  // keep the body uniquely referenced while appending
            message.body.append(contentsOf: frame.payload.readableBytesView)
            partial[frame.channel] = message
            if UInt64(message.body.count) == header.bodySize { complete(channel: frame.channel) }
        }
    }

    private func complete(channel: UInt16) {
        guard let message = partial.removeValue(forKey: channel), let header = message.header else { return }
        connection.received(message.method, channel: channel, content: (header, message.body))
    }

    private func handshake(_ method: AMQPMethod, context: ChannelHandlerContext) throws(AMQPError) {
        let configuration = connection.configuration
        switch (phase, method) {
        case (.start, .connectionStart(_, _, let properties, let mechanisms, _)):
            let offered = String(decoding: mechanisms, as: UTF8.self).split(separator: " ")
            guard offered.contains("PLAIN") else { throw .authenticationFailed("the broker offers no PLAIN login (\(offered.joined(separator: ", ")))") }
            serverProperties = properties
            var client: AMQPFieldTable = [
                "product": .string("Warden AMQPClient"), "platform": .string("Swift"), "version": .string("1.0"),
                "capabilities": .table([
                    "publisher_confirms": .bool(true), "consumer_cancel_notify": .bool(true), "basic.nack": .bool(true),
                    "connection.blocked": .bool(true), "authentication_failure_close": .bool(true),
                ]),
            ]
            if let name = configuration.connectionName { client["connection_name"] = .string(name) }
            let response = [0] + Array(configuration.user.utf8) + [0] + Array(configuration.password.utf8)
            try send(.connectionStartOk(clientProperties: client, mechanism: "PLAIN", response: response, locale: "en_US"), context: context)
            phase = .tune
        case (.tune, .connectionTune(let channelMax, let frameMax, let heartbeat)):
            try send(connection.tune(channelMax: channelMax, frameMax: frameMax, heartbeat: heartbeat), context: context)
            try send(.connectionOpen(virtualHost: configuration.virtualHost), context: context)
            phase = .open
        case (.open, .connectionOpenOk):
            phase = .ready
            connection.handshakeDone(serverProperties: serverProperties)
            ready.succeed()
        case (_, .connectionClose(let code, let text, _, _)):
            try? send(.connectionCloseOk, context: context)
            throw code == 403 ? .authenticationFailed("\(code) \(text)") : .connectionClosed(code: code, text: text)
        default:
            throw .unexpectedFrame("method \(method.id.classID).\(method.id.methodID) during the handshake")
        }
    }

    private func send(_ method: AMQPMethod, context: ChannelHandlerContext) throws(AMQPError) {
        var payload = context.channel.allocator.buffer(capacity: 256)
        try method.encode(into: &payload)
        var buffer = context.channel.allocator.buffer(capacity: payload.readableBytes + AMQPFrame.overhead)
        AMQPFrame(kind: .method, channel: 0, payload: payload).encode(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    private func fail(_ error: AMQPError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        connection.logger.warning("AMQP connection failed", metadata: ["error": "\(error)"])
        ready.fail(error)
        connection.shutDown(error)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let amqpError = (error as? AMQPError) ?? (phase == .ready ? .connectionLost : .connectionFailed("\(error)"))
        fail(amqpError, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let reason = failure ?? .connectionLost
        ready.fail(phase == .tune || phase == .open ? (failure ?? .authenticationFailed("the broker closed the socket during the handshake")) : reason)
        connection.shutDown(reason)
        context.fireChannelInactive()
    }
}

extension Duration {
    /// The same span as NIO's `TimeAmount` (negative spans become zero).
    var amqpTimeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}

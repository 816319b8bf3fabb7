import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A connection to a NATS server: publish, subscribe (with queue groups), request/reply over one muxed
/// inbox, flush and drain; it reconnects with jittered backoff and subscribes again after a break.
///
/// ```swift
/// let nats = try await NATSConnection.connect(NATSOptions(servers: ["nats://127.0.0.1:4222"]))
/// let subscription = try nats.subscribe(to: "greet.*", queue: "greeters")
/// Task { for await message in subscription { try? nats.publish(to: message.replyTo!, payload: Array("hi".utf8)) } }
/// let answer = try await nats.request("greet.joe", payload: [])
/// try await nats.drain()
/// ```
///
/// All methods may be called from any task. Writes keep the order of the calls that made them.
public final class NATSConnection: Sendable {
    /// Where the connection is in its life.
    public enum Status: Sendable, Equatable { case connecting, connected, reconnecting, draining, closed }

    /// Counters since the connection was made.
    public struct Statistics: Sendable, Equatable {
        public var messagesIn = 0
        public var messagesOut = 0
        public var reconnects = 0
        /// Messages dropped because a subscription's buffer was full (a slow consumer).
        public var dropped = 0
    }

    typealias Handler = @Sendable (NATSMessage) -> Void

    struct SubscriptionEntry {
        var subject: String
        var queue: String?
        var handler: Handler
        var onClose: @Sendable () -> Void
    }

    struct State {
        var status: Status = .connecting
        var channel: (any Channel)?
        var generation = 0
        var info: ServerInfo?
        var nextSID: UInt64 = 1
        var subscriptions: [UInt64: SubscriptionEntry] = [:]
        var pongWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiterID: UInt64 = 1
        var muxSID: UInt64?
        /// Requests waiting for their answer on the muxed inbox, by token, with the subject they went to.
        var requests: [String: (subject: String, continuation: CheckedContinuation<NATSMessage, any Error>)] = [:]
        var statistics = Statistics()
        var serverIndex = 0
    }

    public let options: NATSOptions
    let logger: Logger
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    /// `_INBOX.<random>`: the prefix of this connection's muxed reply subjects.
    private let muxPrefix: String
    private let addresses: [ServerAddress]

    private init(options: NATSOptions, addresses: [ServerAddress]) {
        self.options = options
        self.logger = options.logger
        self.addresses = addresses
        self.group = MultiThreadedEventLoopGroup.singleton
        self.muxPrefix = "\(options.inboxPrefix).\(NUID.next())"
    }

    /// Connects to the first server of `options.servers` that answers, completing the handshake (`INFO`,
    /// `CONNECT`, `PING`/`PONG`) before it returns.
    ///
    /// - Throws: ``NATSError/invalidURL(_:)``, ``NATSError/connectionFailed(_:)``,
    ///   ``NATSError/authorizationFailed(_:)``.
    public static func connect(_ options: NATSOptions) async throws -> NATSConnection {
        guard !options.servers.isEmpty else { throw NATSError.invalidURL("") }
        let addresses = try options.servers.map { url throws(NATSError) in try ServerAddress(url) }
        let connection = NATSConnection(options: options, addresses: addresses)
        var lastError: any Error = NATSError.connectionFailed("no server")
        for index in addresses.indices {
            do {
                try await connection.establish(serverIndex: index)
                connection.startPinging()
                return connection
            } catch let error as NATSError {
                if case .authorizationFailed = error { throw error }
                lastError = error
            } catch {
                lastError = error
            }
        }
        connection.state.withLock { $0.status = .closed }
        throw (lastError as? NATSError) ?? NATSError.connectionFailed("\(lastError)")
    }

    // MARK: State

    public var status: Status { state.withLock { $0.status } }
    /// The `INFO` of the server connected to last.
    public var serverInfo: ServerInfo? { state.withLock { $0.info } }
    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// The largest message (headers and payload) the server accepts.
    public var maxPayload: Int { state.withLock { $0.info?.maxPayload ?? 1_048_576 } }

    /// A new unique subject under this connection's inbox prefix.
    public func newInbox() -> String { "\(options.inboxPrefix).\(NUID.next())" }

    // MARK: Publish

    /// Publishes `payload` (with `headers`, if any) to `subject`, asking for answers on `replyTo`.
    ///
    /// Returns once the message is queued for the socket; ``flush(timeout:)`` waits until the server has it.
    /// - Throws: ``NATSError/maxPayloadExceeded(size:limit:)``, ``NATSError/notConnected``,
    ///   ``NATSError/invalidSubject(_:)``, ``NATSError/headersNotSupported``.
    public func publish(to subject: String, payload: [UInt8], headers: NATSHeaders? = nil, replyTo: String? = nil) throws(NATSError) {
        guard validSubject(subject) else { throw .invalidSubject(subject) }
        if let replyTo, !validSubject(replyTo) { throw .invalidSubject(replyTo) }
        try write { state, buffer throws(NATSError) in
            try Self.checkPublish(state, payload: payload, headers: headers)
            ClientOperation.publish(subject: subject, replyTo: replyTo, headers: headers, payload: payload, into: &buffer)
            state.statistics.messagesOut += 1
        }
    }

    private static func checkPublish(_ state: State, payload: [UInt8], headers: NATSHeaders?) throws(NATSError) {
        let headerBytes = headers.map { $0.isEmpty ? 0 : $0.encoded().count } ?? 0
        if headerBytes > 0, state.info?.headers == false { throw .headersNotSupported }
        let limit = state.info?.maxPayload ?? 1_048_576
        if headerBytes + payload.count > limit { throw .maxPayloadExceeded(size: headerBytes + payload.count, limit: limit) }
    }

    // MARK: Request/reply

    /// Sends a request and waits for the first answer, over this connection's one muxed inbox subscription.
    ///
    /// - Throws: ``NATSError/noResponders(subject:)`` at once when nobody listens on `subject`,
    ///   ``NATSError/timeout`` when no answer comes within `timeout` (default `options.requestTimeout`),
    ///   ``NATSError/connectionLost`` when the connection breaks first, and the errors of ``publish(to:payload:headers:replyTo:)``.
    public func request(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil, timeout: Duration? = nil) async throws -> NATSMessage {
        guard validSubject(subject) else { throw NATSError.invalidSubject(subject) }
        let token = NUID.next(length: 12)
        let replyTo = "\(muxPrefix).\(token)"
        let timeout = timeout ?? options.requestTimeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<NATSMessage, any Error>) in
                do {
                    try write { state, buffer throws(NATSError) in
                        try Self.checkPublish(state, payload: payload, headers: headers)
                        if state.muxSID == nil {
                            let sid = state.nextSID
                            state.nextSID += 1
                            state.muxSID = sid
                            state.subscriptions[sid] = SubscriptionEntry(
                                subject: "\(muxPrefix).*", queue: nil,
                                handler: { [weak self] in self?.answer($0) }, onClose: {})
                            ClientOperation.subscribe(subject: "\(muxPrefix).*", queue: nil, sid: sid, into: &buffer)
                        }
                        state.requests[token] = (subject, continuation)
                        ClientOperation.publish(subject: subject, replyTo: replyTo, headers: headers, payload: payload, into: &buffer)
                        state.statistics.messagesOut += 1
                    }
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                group.next().scheduleTask(in: timeout.timeAmount) { [weak self] in
                    self?.finishRequest(token, with: .failure(NATSError.timeout))
                }
            }
        } onCancel: {
            finishRequest(token, with: .failure(CancellationError()))
        }
    }

    /// An answer on the muxed inbox.
    private func answer(_ message: NATSMessage) {
        guard let token = message.subject.split(separator: ".").last.map(String.init) else { return }
        if message.status == 503 {
            finishRequest(token, with: .failure(NATSError.noResponders(subject: "")))
        } else {
            finishRequest(token, with: .success(message))
        }
    }

    /// Resumes the request waiting under `token`, if it still waits; a no-responders answer names its subject.
    private func finishRequest(_ token: String, with result: Result<NATSMessage, any Error>) {
        guard let pending = state.withLock({ $0.requests.removeValue(forKey: token) }) else { return }
        if case .failure(NATSError.noResponders) = result {
            pending.continuation.resume(throwing: NATSError.noResponders(subject: pending.subject))
        } else {
            pending.continuation.resume(with: result)
        }
    }

    // MARK: Subscribe

    /// Subscribes to `subject` (wildcards `*` and `>` allowed); with a `queue` group, each message goes to
    /// one member of the group only.
    ///
    /// Messages are buffered up to `bufferLimit`; beyond it they are dropped and counted in
    /// ``statistics`` (a slow consumer). The subscription is sent again after a reconnect.
    public func subscribe(to subject: String, queue: String? = nil, bufferLimit: Int = 65_536) throws(NATSError) -> NATSSubscription {
        let (stream, continuation) = AsyncStream<NATSMessage>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        let sid = try subscribe(
            to: subject, queue: queue,
            handler: { [weak self] message in
                if case .dropped = continuation.yield(message) { self?.state.withLock { $0.statistics.dropped += 1 } }
            }, onClose: { continuation.finish() })
        return NATSSubscription(connection: self, sid: sid, subject: subject, queue: queue, stream: stream)
    }

    /// Subscribes with a callback run on the connection's event loop for each message (it must be quick).
    func subscribe(to subject: String, queue: String?, handler: @escaping Handler, onClose: @escaping @Sendable () -> Void = {}) throws(NATSError) -> UInt64 {
        guard validSubject(subject) else { throw .invalidSubject(subject) }
        if let queue, !validSubject(queue) { throw .invalidSubject(queue) }
        var sid: UInt64 = 0
        try write { state, buffer throws(NATSError) in
            sid = state.nextSID
            state.nextSID += 1
            state.subscriptions[sid] = SubscriptionEntry(subject: subject, queue: queue, handler: handler, onClose: onClose)
            ClientOperation.subscribe(subject: subject, queue: queue, sid: sid, into: &buffer)
        }
        return sid
    }

    /// Stops the subscription at once: messages already buffered are still delivered, then it ends.
    func unsubscribe(sid: UInt64) {
        var entry: SubscriptionEntry?
        try? write { state, buffer throws(NATSError) in
            entry = state.subscriptions.removeValue(forKey: sid)
            if entry != nil { ClientOperation.unsubscribe(sid: sid, into: &buffer) }
        }
        if entry == nil { entry = state.withLock { $0.subscriptions.removeValue(forKey: sid) } }
        entry?.onClose()
    }

    /// Unsubscribes, waits until the server has stopped sending (a flush), then ends the subscription.
    func drain(sid: UInt64, timeout: Duration) async throws {
        try? write { state, buffer throws(NATSError) in
            if state.subscriptions[sid] != nil { ClientOperation.unsubscribe(sid: sid, into: &buffer) }
        }
        defer { state.withLock { $0.subscriptions.removeValue(forKey: sid) }?.onClose() }
        try await flush(timeout: timeout)
    }

    // MARK: Flush, drain, close

    /// Waits until the server has read everything sent before this call (a `PING` answered by `PONG`).
    public func flush(timeout: Duration = .seconds(5)) async throws {
        var waiterID: UInt64 = 0
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            do {
                try write { state, buffer throws(NATSError) in
                    waiterID = state.nextWaiterID
                    state.nextWaiterID += 1
                    state.pongWaiters.append((waiterID, continuation))
                    buffer.writeString("PING\r\n")
                }
            } catch {
                continuation.resume(throwing: error)
                return
            }
            let id = waiterID
            group.next().scheduleTask(in: timeout.timeAmount) { [weak self] in
                guard let self else { return }
                let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    guard let index = state.pongWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.pongWaiters.remove(at: index).continuation
                }
                waiter?.resume(throwing: NATSError.timeout)
            }
        }
    }

    /// Drains the connection: unsubscribes everything, lets the subscriptions' buffered messages be read,
    /// waits until the server has everything published, then closes.
    public func drain(timeout: Duration = .seconds(10)) async throws {
        let sids = state.withLock { state -> [UInt64] in
            guard state.status == .connected else { return [] }
            state.status = .draining
            return Array(state.subscriptions.keys)
        }
        try? write { state, buffer throws(NATSError) in
            for sid in sids { ClientOperation.unsubscribe(sid: sid, into: &buffer) }
        }
        defer { close() }
        try await flush(timeout: timeout)
    }

    /// Closes at once: subscriptions end, waiting calls fail with ``NATSError/closed``.
    public func close() {
        let (channel, subscriptions, waiters, requests) = state.withLock { state in
            state.status = .closed
            defer {
                state.channel = nil
                state.subscriptions = [:]
                state.pongWaiters = []
                state.requests = [:]
            }
            return (state.channel, Array(state.subscriptions.values), state.pongWaiters, Array(state.requests.values))
        }
        for waiter in waiters { waiter.continuation.resume(throwing: NATSError.closed) }
        for request in requests { request.continuation.resume(throwing: NATSError.closed) }
        for entry in subscriptions { entry.onClose() }
        channel?.close(promise: nil)
    }

    // MARK: Writing

    /// Encodes under the lock and hands the bytes to the channel under it too, so writes keep call order.
    private func write(_ encode: (inout State, inout ByteBuffer) throws(NATSError) -> Void) throws(NATSError) {
        try state.withLock { state throws(NATSError) in
            guard state.status == .connected || state.status == .draining, let channel = state.channel else {
                throw state.status == .closed ? .closed : .notConnected
            }
            var buffer = channel.allocator.buffer(capacity: 256)
            try encode(&state, &buffer)
            if buffer.readableBytes > 0 { channel.writeAndFlush(buffer, promise: nil) }
        }
    }

    // MARK: Reading (on the event loop)

    func received(_ operation: ServerOperation, generation: Int) {
        switch operation {
        case .message(let message):
            let handler = state.withLock { state -> Handler? in
                guard state.generation == generation else { return nil }
                state.statistics.messagesIn += 1
                return state.subscriptions[message.sid]?.handler
            }
            handler?(message)
        case .pong:
            let waiter = state.withLock { $0.pongWaiters.isEmpty ? nil : $0.pongWaiters.removeFirst() }
            waiter?.continuation.resume()
        case .info(let info):
            state.withLock { $0.info = info }
        case .error(let text):
            logger.warning("NATS server error", metadata: ["error": "\(text)"])
        case .ping, .ok:
            break
        }
    }

    func channelClosed(generation: Int) {
        let (reconnect, waiters, requests) = state.withLock { state in
            guard state.generation == generation, state.status == .connected || state.status == .draining else {
                return (
                    false, [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)](),
                    [(subject: String, continuation: CheckedContinuation<NATSMessage, any Error>)]()
                )
            }
            let reconnect = state.status == .connected && options.reconnect.maxAttempts != 0
            state.status = reconnect ? .reconnecting : .closed
            state.channel = nil
            defer {
                state.pongWaiters = []
                state.requests = [:]
            }
            return (reconnect, state.pongWaiters, Array(state.requests.values))
        }
        for waiter in waiters { waiter.continuation.resume(throwing: NATSError.connectionLost) }
        for request in requests { request.continuation.resume(throwing: NATSError.connectionLost) }
        if reconnect {
            logger.warning("NATS connection lost; reconnecting")
            Task { await reconnectLoop() }
        } else if status == .closed {
            close()
        }
    }

    private func reconnectLoop() async {
        var attempt = 0
        while status == .reconnecting {
            if let most = options.reconnect.maxAttempts, attempt >= most {
                logger.error("NATS reconnection gave up", metadata: ["attempts": "\(attempt)"])
                close()
                return
            }
            try? await Task.sleep(for: options.reconnect.delay(attempt: attempt))
            let index = state.withLock { state -> Int in
                state.serverIndex = (state.serverIndex + (attempt == 0 ? 0 : 1)) % addresses.count
                return state.serverIndex
            }
            do {
                try await establish(serverIndex: index)
                logger.notice("NATS reconnected", metadata: ["server": "\(addresses[index].host):\(addresses[index].port)", "attempts": "\(attempt + 1)"])
                return
            } catch {
                logger.debug("NATS reconnection attempt failed", metadata: ["error": "\(error)"])
                attempt += 1
            }
        }
    }

    private func startPinging() {
        let interval = options.pingInterval
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                switch status {
                case .closed: return
                case .connected:
                    do {
                        try await flush(timeout: interval)
                    } catch NATSError.timeout {
                        logger.warning("NATS server did not answer PING; reconnecting")
                        state.withLock { $0.channel }?.close(promise: nil)
                    } catch {}
                default: continue
                }
            }
        }
    }

    // MARK: Handshake

    /// Opens a socket to server `serverIndex`, reads `INFO`, upgrades to TLS if asked, sends `CONNECT` and
    /// `PING`, waits for `PONG`, then makes the socket current and sends the subscriptions again.
    private func establish(serverIndex: Int) async throws {
        let address = addresses[serverIndex]
        let generation = state.withLock { state -> Int in
            state.generation += 1
            state.serverIndex = serverIndex
            return state.generation
        }
        let loop = group.next()
        let infoPromise = loop.makePromise(of: ServerInfo.self)
        let readyPromise = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(options.connectTimeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(NATSDecoder()),
                        NATSChannelHandler(connection: self, generation: generation, info: infoPromise, ready: readyPromise),
                    ])
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            infoPromise.fail(error)
            readyPromise.fail(error)
            throw NATSError.connectionFailed("\(address.host):\(address.port): \(error)")
        }
        let timeout = loop.scheduleTask(in: options.connectTimeout.timeAmount) {
            infoPromise.fail(NATSError.connectionFailed("no INFO from \(address.host):\(address.port)"))
            readyPromise.fail(NATSError.connectionFailed("no handshake with \(address.host):\(address.port)"))
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        do {
            let info = try await infoPromise.futureResult.get()
            if address.tls || info.tlsRequired || options.tls != nil {
                let configuration = options.tls ?? TLSConfiguration.makeClientConfiguration()
                let context = try NIOSSLContext(configuration: configuration)
                // SNI takes names only: for an IP address the certificate is checked against the address.
                let host = address.isIPAddress ? nil : address.host
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: host), position: .first)
                }.get()
            }
            var buffer = channel.allocator.buffer(capacity: 512)
            buffer.writeString("CONNECT \(try connectJSON(info: info, address: address))\r\nPING\r\n")
            try await channel.writeAndFlush(buffer)
            try await readyPromise.futureResult.get()
            // Current from here: the subscriptions are sent again before any other write.
            try state.withLock { state throws(NATSError) in
                guard state.status != .closed, state.generation == generation else { throw .closed }
                state.channel = channel
                state.info = info
                if state.status == .reconnecting { state.statistics.reconnects += 1 }
                state.status = .connected
                var subscriptions = channel.allocator.buffer(capacity: 128 * state.subscriptions.count)
                for (sid, entry) in state.subscriptions.sorted(by: { $0.key < $1.key }) {
                    ClientOperation.subscribe(subject: entry.subject, queue: entry.queue, sid: sid, into: &subscriptions)
                }
                if subscriptions.readableBytes > 0 { channel.writeAndFlush(subscriptions, promise: nil) }
            }
        } catch {
            channel.close(promise: nil)
            if let error = error as? NATSError { throw error }
            throw NATSError.connectionFailed("\(address.host):\(address.port): \(error)")
        }
    }

    private func connectJSON(info: ServerInfo, address: ServerAddress) throws -> String {
        var fields: [String: Any] = [
            "verbose": false, "pedantic": false, "lang": "swift", "version": "0.1.0", "protocol": 1,
            "headers": true, "no_responders": true, "tls_required": address.tls || info.tlsRequired,
        ]
        if let name = options.name { fields["name"] = name }
        if let user = address.user {
            if let password = address.password {
                fields["user"] = user
                fields["pass"] = password
            } else {
                fields["auth_token"] = user
            }
        }
        switch options.auth {
        case .none: break
        case .token(let token): fields["auth_token"] = token
        case .userPassword(let user, let password):
            fields["user"] = user
            fields["pass"] = password
        case .nkey(let seed):
            let pair = try NKeyPair(seed: seed)
            fields["nkey"] = pair.publicKey
            if let nonce = info.nonce { fields["sig"] = try pair.sign(nonce: nonce) }
        case .credentials(let path):
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw NATSError.invalidCredentials("cannot read \(path)")
            }
            let file = try CredentialsFile(contents: contents)
            fields["jwt"] = file.jwt
            if let nonce = info.nonce { fields["sig"] = try NKeyPair(seed: file.seed).sign(nonce: nonce) }
        }
        let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Forwards the decoded operations of one socket to its connection; answers the server's `PING`s, and
/// settles the handshake (`INFO`, then `PONG` or `-ERR`).
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ServerOperation

    private let connection: NATSConnection
    private let generation: Int
    private let info: EventLoopPromise<ServerInfo>
    private let ready: EventLoopPromise<Void>
    private var handshaking = true

    init(connection: NATSConnection, generation: Int, info: EventLoopPromise<ServerInfo>, ready: EventLoopPromise<Void>) {
        self.connection = connection
        self.generation = generation
        self.info = info
        self.ready = ready
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let operation = unwrapInboundIn(data)
        if case .ping = operation {
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "PONG\r\n")), promise: nil)
            return
        }
        guard handshaking else {
            connection.received(operation, generation: generation)
            return
        }
        switch operation {
        case .info(let serverInfo): info.succeed(serverInfo)
        case .pong:
            handshaking = false
            ready.succeed()
        case .error(let text):
            let lower = text.lowercased()
            let error: NATSError =
                lower.contains("authorization") || lower.contains("authentication") || lower.contains("user")
                ? .authorizationFailed(text) : .server(text)
            info.fail(error)
            ready.fail(error)
            context.close(promise: nil)
        default: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        info.fail(NATSError.connectionLost)
        ready.fail(NATSError.connectionLost)
        connection.channelClosed(generation: generation)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.logger.debug("NATS socket error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

extension Duration {
    /// The same span as NIO's `TimeAmount` (nanoseconds; negative spans become zero).
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }

    /// Whole nanoseconds, as JetStream's JSON durations are written.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

import Foundation
import NIOSSL
import Testing
import WardenTestSupport

@testable import AMQPClient

/// The client against a real RabbitMQ: one shared broker, a queue name of its own per test.
@Suite(.timeLimit(.minutes(2))) struct BrokerTests {
    static func connect(_ url: String? = nil) async throws -> AMQPConnection {
        let server = try await RabbitMQServerProcess.shared()
        return try await AMQPConnection.connect(try AMQPConfiguration(url: url ?? server.url))
    }

    static func name(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

    /// Waits (bounded) for the next delivery.
    static func next(_ iterator: inout AMQPConsumer.AsyncIterator) async throws -> AMQPDelivery {
        guard let delivery = await iterator.next() else { throw AMQPError.closed }
        return delivery
    }

    @Test func handshakeNegotiatesAndRefusesAWrongPassword() async throws {
        let connection = try await Self.connect()
        #expect(connection.serverProperties["product"]?.stringValue == "RabbitMQ")
        #expect(connection.frameMax == 131_072)
        #expect(connection.isOpen)
        await connection.close()
        #expect(!connection.isOpen)
        #expect(await connection.closeReason() == .closed)

        let server = try await RabbitMQServerProcess.shared()
        await #expect(throws: AMQPError.self) {
            try await AMQPConnection.connect(try AMQPConfiguration(url: "amqp://guest:wrong@127.0.0.1:\(server.port)"))
        }
        do {
            _ = try await AMQPConnection.connect(try AMQPConfiguration(url: "amqp://guest:wrong@127.0.0.1:\(server.port)"))
        } catch let error as AMQPError {
            guard case .authenticationFailed = error else {
                Issue.record("expected authenticationFailed, got \(error)")
                return
            }
        }
        // An unknown vhost is the broker's connection.close (530).
        await #expect(throws: AMQPError.self) {
            try await AMQPConnection.connect(try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:\(server.port)/nowhere"))
        }
    }

    @Test func heartbeatsKeepAnIdleConnectionOpen() async throws {
        let server = try await RabbitMQServerProcess.shared()
        // A 1 s heartbeat: the broker closes a connection that stays silent for two of them, so an idle one is
        // still open after four only if this client sends its heartbeats (and hears the broker's).
        let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: server.url + "?heartbeat=1"))
        defer { Task { await connection.close() } }
        try await Task.sleep(for: .seconds(4))
        #expect(connection.isOpen)
        let channel = try await connection.openChannel()
        #expect(try await channel.declareQueue(Self.name("beat"), durable: false, autoDelete: true).messageCount == 0)
    }

    @Test func publishWithConfirmsThenConsumeWithAcks() async throws {
        let connection = try await Self.connect()
        defer { Task { await connection.close() } }
        let channel = try await connection.openChannel()
        let queue = Self.name("confirms")
        let declared = try await channel.declareQueue(queue, arguments: ["x-queue-type": .string("quorum")])
        #expect(declared.name == queue && declared.messageCount == 0)
        try await channel.confirmSelect()
        // A body over frame_max is split into body frames.
        let big = [UInt8]((0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let count = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    let properties = AMQPProperties(
                        contentType: "application/json", headers: ["index": .int32(Int32(index))], deliveryMode: 2,
                        correlationID: "corr-\(index)", replyTo: "answers", messageID: "id-\(index)")
                    try await channel.publish(index == 0 ? big : Array("message \(index)".utf8), exchange: "", routingKey: queue, properties: properties)
                }
            }
            try await group.waitForAll()
        }
        // Every publish was confirmed: the quorum queue holds them all.
        #expect(try await channel.declareQueue(queue, passive: true).messageCount == UInt32(count))

        try await channel.qos(prefetchCount: 10)
        let consumer = try await channel.consume(queue: queue)
        var iterator = consumer.makeAsyncIterator()
        var seen = Set<String>()
        for _ in 0..<count {
            let delivery = try await Self.next(&iterator)
            let index = try #require(delivery.properties.headers?["index"]?.intValue)
            #expect(delivery.properties.messageID == "id-\(index)" && delivery.properties.correlationID == "corr-\(index)")
            #expect(delivery.properties.replyTo == "answers" && delivery.properties.deliveryMode == 2)
            #expect(delivery.body == (index == 0 ? big : Array("message \(index)".utf8)))
            #expect(!delivery.redelivered && delivery.routingKey == queue)
            seen.insert(delivery.properties.messageID ?? "")
            try channel.ack(delivery.deliveryTag)
        }
        #expect(seen.count == count)
        try await channel.cancel(consumer.tag)
        #expect(await iterator.next() == nil, "the consumer's sequence ends after cancel-ok")
        #expect(try await channel.declareQueue(queue, passive: true).messageCount == 0)
        try await channel.deleteQueue(queue)
    }

    @Test func unackedDeliveriesComeBackAfterTheChannelCloses() async throws {
        let connection = try await Self.connect()
        defer { Task { await connection.close() } }
        let queue = Self.name("redeliver")
        let first = try await connection.openChannel()
        try await first.declareQueue(queue, arguments: ["x-queue-type": .string("quorum")])
        try await first.confirmSelect()
        for index in 0..<5 { try await first.publish(Array("m\(index)".utf8), exchange: "", routingKey: queue) }
        try await first.qos(prefetchCount: 5)
        var held = try await first.consume(queue: queue).makeAsyncIterator()
        for _ in 0..<5 { _ = try await Self.next(&held) }
        try await first.close()
        #expect(await held.next() == nil)
        // Acking on a closed channel fails: the tag belonged to it.
        #expect(throws: AMQPError.self) { try first.ack(1) }

        let second = try await connection.openChannel()
        var again = try await second.consume(queue: queue).makeAsyncIterator()
        var bodies: [String] = []
        for _ in 0..<5 {
            let delivery = try await Self.next(&again)
            #expect(delivery.redelivered)
            bodies.append(String(decoding: delivery.body, as: UTF8.self))
            try second.ack(delivery.deliveryTag)
        }
        #expect(Set(bodies) == ["m0", "m1", "m2", "m3", "m4"])
        try await second.deleteQueue(queue)
    }

    @Test func rejectedWithoutRequeueGoesToTheDeadLetterQueueAndNackRequeues() async throws {
        let connection = try await Self.connect()
        defer { Task { await connection.close() } }
        let channel = try await connection.openChannel()
        let queue = Self.name("work"), dead = Self.name("dead"), exchange = Self.name("dlx")
        try await channel.declareExchange(exchange, type: "fanout")
        try await channel.declareQueue(dead)
        try await channel.bindQueue(dead, exchange: exchange, routingKey: "")
        try await channel.declareQueue(queue, arguments: ["x-queue-type": .string("quorum"), "x-dead-letter-exchange": .string(exchange)])
        try await channel.confirmSelect()
        try await channel.publish(Array("poison".utf8), exchange: "", routingKey: queue, properties: AMQPProperties(messageID: "p1"))
        var work = try await channel.consume(queue: queue).makeAsyncIterator()
        let first = try await Self.next(&work)
        try channel.nack(first.deliveryTag, requeue: true)
        let again = try await Self.next(&work)
        #expect(again.redelivered && again.properties.messageID == "p1")
        try channel.reject(again.deliveryTag, requeue: false)

        var letters = try await channel.consume(queue: dead).makeAsyncIterator()
        let letter = try await Self.next(&letters)
        #expect(letter.body == Array("poison".utf8) && letter.properties.messageID == "p1")
        #expect(letter.properties.headers?["x-death"] != nil)
        try channel.ack(letter.deliveryTag)
        try await channel.deleteQueue(queue)
        try await channel.deleteQueue(dead)
    }

    @Test func directReplyToAnswersARequest() async throws {
        let connection = try await Self.connect()
        defer { Task { await connection.close() } }
        let queue = Self.name("rpc")
        let server = try await connection.openChannel()
        try await server.declareQueue(queue, durable: false, autoDelete: true)
        var requests = try await server.consume(queue: queue).makeAsyncIterator()

        let client = try await connection.openChannel()
        // Consume the pseudo-queue first (no-ack, as RabbitMQ requires), then publish from the same channel.
        var replies = try await client.consume(queue: "amq.rabbitmq.reply-to", noAck: true).makeAsyncIterator()
        try await client.publish(
            Array("ping".utf8), exchange: "", routingKey: queue,
            properties: AMQPProperties(correlationID: "c-42", replyTo: "amq.rabbitmq.reply-to"))
        let request = try await Self.next(&requests)
        let replyTo = try #require(request.properties.replyTo)
        #expect(replyTo.hasPrefix("amq.rabbitmq.reply-to."))
        try await server.confirmSelect()
        try await server.publish(
            Array("pong".utf8), exchange: "", routingKey: replyTo,
            properties: AMQPProperties(correlationID: request.properties.correlationID))
        try server.ack(request.deliveryTag)
        let reply = try await Self.next(&replies)
        #expect(reply.body == Array("pong".utf8) && reply.properties.correlationID == "c-42")
    }

    @Test func aRedeclareWithOtherArgumentsClosesOnlyTheChannel() async throws {
        let connection = try await Self.connect()
        defer { Task { await connection.close() } }
        let channel = try await connection.openChannel()
        let queue = Self.name("typed")
        try await channel.declareQueue(queue, arguments: ["x-queue-type": .string("quorum")])
        do {
            try await channel.declareQueue(queue, arguments: ["x-queue-type": .string("classic")])
            Issue.record("a conflicting declare succeeded")
        } catch let error as AMQPError {
            guard case .channelClosed(406, _) = error else {
                Issue.record("expected 406, got \(error)")
                return
            }
        }
        #expect(connection.isOpen)
        let other = try await connection.openChannel()
        try await other.deleteQueue(queue)
    }
}

/// A broker of its own, stopped and started again: the connection reports the loss, and a durable quorum
/// queue keeps its confirmed persistent messages across the restart. Publishers wait while the broker blocks them.
@Suite(.serialized, .timeLimit(.minutes(3))) struct BrokerRestartTests {
    @Test func aRestartIsReportedAndConfirmedMessagesSurviveIt() async throws {
        let server = try await RabbitMQServerProcess.start()
        defer { Task { await server.stop() } }
        let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: server.url))
        let channel = try await connection.openChannel()
        try await channel.declareQueue("kept", arguments: ["x-queue-type": .string("quorum")])
        try await channel.confirmSelect()
        for index in 0..<20 {
            try await channel.publish(Array("m\(index)".utf8), exchange: "", routingKey: "kept", properties: AMQPProperties(deliveryMode: 2))
        }

        // Blocked: a memory alarm makes the broker block publishers; the publish waits until it lifts.
        _ = try server.ctl(["set_vm_memory_high_watermark", "0"])
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        // The broker tells a publishing connection it is blocked: publish until it does. A probe sent before the
        // block may be held by the broker; each is awaited after the alarm lifts.
        var probes: [Task<Void, any Error>] = []
        while connection.blockedReason == nil, clock.now < deadline {
            probes.append(Task { try await channel.publish(Array("probe".utf8), exchange: "", routingKey: "kept") })
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(connection.blockedReason != nil, "no connection.blocked from the broker")
        let waiting = Task { try await channel.publish(Array("after".utf8), exchange: "", routingKey: "kept") }
        try await Task.sleep(for: .milliseconds(300))
        _ = try server.ctl(["set_vm_memory_high_watermark", "0.4"])
        try await waiting.value
        for probe in probes { try await probe.value }
        #expect(connection.blockedReason == nil)

        await server.halt()
        let reason = await connection.closeReason()
        #expect(reason != .closed, "a lost connection is not a close: \(reason)")
        await #expect(throws: AMQPError.self) { try await channel.publish([1], exchange: "", routingKey: "kept") }

        try await server.launch()
        let again = try await AMQPConnection.connect(try AMQPConfiguration(url: server.url))
        defer { Task { await again.close() } }
        let reopened = try await again.openChannel()
        let count = try await reopened.declareQueue("kept", passive: true).messageCount
        #expect(count >= 21, "confirmed messages lost in the restart: \(count)")
    }
}

/// `amqps://`: a broker of its own with a TLS listener and a certificate made for the test.
@Suite(.timeLimit(.minutes(2))) struct BrokerTLSTests {
    @Test func amqpsWithATrustedCertificate() async throws {
        let tlsPort = closedLoopbackPort()
        let certificates = try TempFolder()
        let certificate = certificates.url.path
        try await makeSelfSignedCertificate(in: certificate)
        let server = try await RabbitMQServerProcess.start { _ in
            """
            listeners.ssl.default = 127.0.0.1:\(tlsPort)
            ssl_options.certfile = \(certificate)/cert.pem
            ssl_options.keyfile = \(certificate)/key.pem
            ssl_options.verify = verify_none
            ssl_options.fail_if_no_peer_cert = false

            """
        }
        defer { Task { await server.stop() } }
        var configuration = try AMQPConfiguration(url: "amqps://guest:guest@127.0.0.1:\(tlsPort)")
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file("\(certificate)/cert.pem")
        configuration.tlsConfiguration = tls
        let connection = try await AMQPConnection.connect(configuration)
        defer { Task { await connection.close() } }
        let channel = try await connection.openChannel()
        let queue = try await channel.declareQueue("", durable: false, exclusive: true).name
        try await channel.confirmSelect()
        try await channel.publish(Array("over TLS".utf8), exchange: "", routingKey: queue)
        var iterator = try await channel.consume(queue: queue).makeAsyncIterator()
        #expect(await iterator.next()?.body == Array("over TLS".utf8))
        // Without the certificate among the trust roots, the handshake fails.
        await #expect(throws: (any Error).self) {
            _ = try await AMQPConnection.connect(try AMQPConfiguration(url: "amqps://guest:guest@127.0.0.1:\(tlsPort)"))
        }
    }
}

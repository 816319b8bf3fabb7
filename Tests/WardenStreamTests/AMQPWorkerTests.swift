import AMQPClient
import Foundation
import Testing
import WardenAPI
import WardenTestSupport

/// `warden worker --amqp-url` as a process against a real RabbitMQ (one broker shared by the suite, queues of
/// each test's own): verdicts, poison to dead letter, acks only after confirms, RPC, kill -9, SIGTERM.
@Suite(.timeLimit(.minutes(2))) struct AMQPWorkerTests {
    /// A client on the shared broker and names of this test's own.
    struct Fixture {
        let server: RabbitMQServerProcess
        let connection: AMQPConnection
        let channel: AMQPChannel
        let queue: String
        let results: String

        /// On the shared broker (or `server`), with fresh queue names (or `names`, to connect again after a restart).
        static func start(on server: RabbitMQServerProcess? = nil, names: (queue: String, results: String)? = nil) async throws -> Fixture {
            let server = if let server { server } else { try await RabbitMQServerProcess.shared() }
            let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: server.url))
            let channel = try await connection.openChannel()
            try await channel.confirmSelect()
            let tag = UUID().uuidString.prefix(8)
            return Fixture(
                server: server, connection: connection, channel: channel, queue: names?.queue ?? "requests-\(tag)",
                results: names?.results ?? "verdicts-\(tag)")
        }

        func stop() async { await connection.close() }

        /// Declares the request queue as the worker does by default (durable, quorum), so that messages published
        /// before a worker starts are kept.
        func declareRequests() async throws {
            try await channel.declareQueue(queue, arguments: ["x-queue-type": .string("quorum")])
        }

        /// Publishes `count` chat messages as `/v1/moderations` bodies, each with message_id `<prefix><index>`.
        func publishChat(_ count: Int, prefix: String = "m") async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let body = #"{"input": "message number \#(index) from the chat, hello there"}"#
                        try await channel.publish(
                            Array(body.utf8), exchange: "", routingKey: queue,
                            properties: AMQPProperties(deliveryMode: 2, messageID: "\(prefix)\(index)"))
                    }
                }
                try await group.waitForAll()
            }
        }

        /// Messages ready in `queue` (not those delivered and unacked).
        func ready(_ queue: String) async throws -> Int {
            let probe = try await connection.openChannel()
            defer { Task { try? await probe.close() } }
            return Int(try await probe.declareQueue(queue, passive: true).messageCount)
        }

        /// Starts `warden worker` on the tiny model against this broker and waits for its ready line.
        func worker(_ arguments: [String] = []) async throws -> WardenProcess {
            let worker = try WardenProcess.launch(
                [
                    "worker", "--model", TestPaths.tinyBert.path, "--workers", "1", "--log-level", "warning",
                    "--amqp-url", server.url, "--amqp-queue", queue, "--amqp-results-routing-key", results,
                    "--amqp-results-queue", results,
                ] + arguments)
            try await waitUntil("the worker's ready line", timeout: .seconds(60)) {
                guard worker.isRunning else { throw WardenProcess.Failure(description: "worker exited early:\n\(worker.log)") }
                return worker.standardOutput.contains("Warden worker is ready")
            }
            return worker
        }

        /// Takes every message of `queue` (acking them): the verdicts.
        func take(_ queue: String) async throws -> [AMQPDelivery] {
            let expected = try await ready(queue)
            let reader = try await connection.openChannel()
            defer { Task { try? await reader.close() } }
            try await reader.qos(prefetchCount: 500)
            let consumer = try await reader.consume(queue: queue)
            var taken: [AMQPDelivery] = []
            var iterator = consumer.makeAsyncIterator()
            while taken.count < expected, let delivery = await iterator.next() {
                taken.append(delivery)
                try reader.ack(delivery.deliveryTag)
            }
            return taken
        }
    }

    @Test func everyMessageGetsAVerdictAndPoisonIsDeadLettered() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        let dead = "dead-\(fixture.queue)", exchange = "dlx-\(fixture.queue)"
        try await fixture.channel.declareExchange(exchange, type: "fanout")
        try await fixture.channel.declareQueue(dead)
        try await fixture.channel.bindQueue(dead, exchange: exchange, routingKey: "")
        let count = 60
        let worker = try await fixture.worker(["--amqp-dead-letter-exchange", exchange])
        try await fixture.publishChat(count)
        // Poison: not UTF-8, not JSON (and no message_id: its verdict's id is a hash), nothing to score.
        for (body, id) in [([UInt8]([0x7B, 0xFF, 0xFE, 0x7D]), "p0"), (Array("not json".utf8), nil), (Array(#"{"input": "   "}"#.utf8), "p2")] {
            try await fixture.channel.publish(body, exchange: "", routingKey: fixture.queue, properties: AMQPProperties(messageID: id))
        }
        try await waitUntil("a verdict per message", timeout: .seconds(45), every: .milliseconds(50)) { try await fixture.ready(fixture.results) >= count + 3 }
        try await waitUntil("the poison dead-lettered", timeout: .seconds(45), every: .milliseconds(50)) { try await fixture.ready(dead) == 3 }
        #expect(await worker.stop() == 0)
        #expect(try await fixture.ready(fixture.queue) == 0, "a request was left unacked")

        let verdicts = try await fixture.take(fixture.results)
        #expect(verdicts.count == count + 3)
        let ids = verdicts.compactMap(\.properties.messageID)
        #expect(Set(ids).isSuperset(of: Set((0..<count).map { "m\($0)" } + ["p0", "p2"])))
        #expect(ids.filter { $0.hasPrefix("fnv1a-") }.count == 1, "the message without an id gets a hashed one")
        for verdict in verdicts {
            let status = verdict.properties.headers?["warden-status"]?.intValue
            if verdict.properties.messageID?.hasPrefix("m") == true {
                #expect(status == 200)
                let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(verdict.body))
                #expect(response.results.count == 1 && response.id == "modr-\(verdict.properties.messageID ?? "")")
            } else {
                #expect(status == 400)
                let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(verdict.body))
                #expect(["invalid_utf8", "invalid_json", "empty_text"].contains(error.error.code))
                #expect(verdict.properties.headers?["warden-error-code"]?.stringValue == error.error.code)
            }
        }
    }

    @Test func aMessageIsNotAckedWhileItsVerdictIsRefused() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        // The verdicts' queue refuses every publish: the broker nacks each verdict, so no request may be acked.
        try await fixture.channel.declareQueue(fixture.results, arguments: ["x-max-length": .int32(0), "x-overflow": .string("reject-publish")])
        try await fixture.declareRequests()
        try await fixture.publishChat(10)
        let worker = try await fixture.worker(["--amqp-results-queue", "", "--amqp-retry-delay", "0.2"])
        try await waitUntil("verdicts refused and requeued (worker log: \(worker.log))", timeout: .seconds(45), every: .milliseconds(50)) {
            worker.log.contains("verdict not confirmed")
        }
        #expect(await worker.stop() == 0)
        #expect(try await fixture.ready(fixture.queue) == 10, "a request was acked without a confirmed verdict")
        #expect(try await fixture.ready(fixture.results) == 0)
    }

    @Test func aRequestWithReplyToIsAnsweredDirectly() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        let worker = try await fixture.worker()
        defer { Task { _ = await worker.stop() } }
        let client = try await fixture.connection.openChannel()
        var replies = try await client.consume(queue: "amq.rabbitmq.reply-to", noAck: true).makeAsyncIterator()
        for (index, text) in ["hello there", ""].enumerated() {
            try await client.publish(
                Array(#"{"input": "\#(text)"}"#.utf8), exchange: "", routingKey: fixture.queue,
                properties: AMQPProperties(correlationID: "call-\(index)", replyTo: "amq.rabbitmq.reply-to"))
        }
        var answers: [String: AMQPDelivery] = [:]
        while answers.count < 2, let reply = await replies.next() { answers[reply.properties.correlationID ?? ""] = reply }
        let ok = try #require(answers["call-0"])
        #expect(ok.properties.headers?["warden-status"]?.intValue == 200)
        #expect(try JSONDecoder().decode(ModerationResponse.self, from: Data(ok.body)).results.count == 1)
        let refused = try #require(answers["call-1"])
        #expect(refused.properties.headers?["warden-status"]?.intValue == 400)
        #expect(try JSONDecoder().decode(ErrorResponse.self, from: Data(refused.body)).error.code == "empty_text")
        #expect(try await fixture.ready(fixture.results) == 0, "an RPC answer also went to the results")
    }

    @Test func aRequestChoosesAPolicyAndAsksForExplanations() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        let folder = try TempFolder()
        let policies = try folder.write("policies.yaml", "policies:\n  strict:\n    action: block\n    thresholds: {toxic: 0, hate: 0, spam: 0}\n")
        let worker = try await fixture.worker(["--policies", policies])
        defer { Task { _ = await worker.stop() } }
        let client = try await fixture.connection.openChannel()
        var replies = try await client.consume(queue: "amq.rabbitmq.reply-to", noAck: true).makeAsyncIterator()
        try await client.publish(
            Array(#"{"input": "you idiot", "policy": "strict", "explain": true}"#.utf8), exchange: "", routingKey: fixture.queue,
            properties: AMQPProperties(correlationID: "policy", replyTo: "amq.rabbitmq.reply-to"))
        let reply = try #require(await replies.next())
        let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(reply.body))
        #expect(response.policy == "strict")
        #expect(response.results.first?.action == "block")
        #expect(response.results.first?.highlights != nil)
    }

    @Test func aShadowModelScoresWhatTheWorkerAnswered() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        // The same model with `toxic` flagging everything: it disagrees exactly where the worker does not flag toxic.
        let bundle = try ReloadableBundle()
        try bundle.write(version: "0.9.0", thresholds: ["toxic": 0, "hate": 0.5, "spam": 0.5])
        let metricsPort = closedLoopbackPort()
        // At nice 0: under the parallel suite a shadow at the default nice 19 gets almost no CPU (by design;
        // ThreadNiceTests checks the nice value), and its warm-up alone could outlast the time limit.
        let worker = try await fixture.worker([
            "--shadow-model", bundle.path, "--shadow-rate", "1", "--shadow-nice", "0", "--metrics-port", String(metricsPort),
            "--metrics-host", "127.0.0.1",
        ])
        try await waitUntil("the shadow model", timeout: .seconds(60), every: .milliseconds(50)) {
            try await WorkerTests.get("/metrics", port: metricsPort).contains(#"warden_shadow_model_info{model="tiny-bert",version="0.9.0"} 1"#)
        }
        let count = 5
        try await fixture.publishChat(count)
        try await waitUntil("a verdict per message", timeout: .seconds(45), every: .milliseconds(50)) { try await fixture.ready(fixture.results) >= count }
        var metrics = ""
        try await waitUntil("every answer scored by the shadow", timeout: .seconds(45), every: .milliseconds(50)) {
            metrics = try await WorkerTests.get("/metrics", port: metricsPort)
            return metrics.contains(#"warden_shadow_samples_total{outcome="scored"} \#(count)"#)
        }
        #expect(await worker.stop() == 0)
        let verdicts = try await fixture.take(fixture.results)
        let unflagged = try verdicts.filter { try JSONDecoder().decode(ModerationResponse.self, from: Data($0.body)).results[0].categories["toxic"] != true }
        #expect(verdicts.count == count)
        #expect(metrics.contains(#"warden_shadow_decisions_total{category="toxic",outcome="shadow_only"} \#(unflagged.count)"#), "\(metrics)")
    }

    @Test func aKilledWorkersMessagesAreRedeliveredAndAnsweredWithTheSameIDs() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        let count = 300
        try await fixture.declareRequests()
        try await fixture.publishChat(count)
        // Batches wait 300 ms in the queue, so the first worker always holds messages when it is killed.
        let first = try await fixture.worker(["--amqp-prefetch", "16", "--bulk-max-queue-delay-ms", "300"])
        try await waitUntil("the first verdicts", timeout: .seconds(45), every: .milliseconds(50)) { try await fixture.ready(fixture.results) > 0 }
        first.send(SIGKILL)
        _ = try await first.waitForExit(timeout: .seconds(10))
        let metricsPort = closedLoopbackPort()
        let second = try await fixture.worker(["--amqp-prefetch", "64", "--metrics-port", String(metricsPort), "--metrics-host", "127.0.0.1"])
        try await waitUntil("a verdict per message", timeout: .seconds(45), every: .milliseconds(50)) {
            let answered = try await fixture.ready(fixture.results)
            let left = try await fixture.ready(fixture.queue)
            return answered >= count && left == 0
        }
        let metrics = try await WorkerTests.get("/metrics", port: metricsPort)
        #expect(metrics.contains(#"warden_amqp_messages_total{outcome="acked"}"#), "\(metrics)")
        #expect(await second.stop() == 0)
        #expect(try await fixture.ready(fixture.queue) == 0, "a request was left unacked")

        let verdicts = try await fixture.take(fixture.results)
        let ids = verdicts.compactMap(\.properties.messageID)
        #expect(Set(ids) == Set((0..<count).map { "m\($0)" }), "every source message has a verdict with its id")
        // A message answered by the killed worker but not acked comes back: its second verdict is a duplicate,
        // with the same message_id, which a consumer drops.
        #expect(ids.count == verdicts.count && verdicts.count >= count)
        #expect(verdicts.contains { $0.properties.headers?["warden-redelivered"] == .bool(true) }, "nothing was redelivered after kill -9")
    }

    @Test func sigtermFinishesAndAcksWhatItHoldsThenExitsZero() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.stop() } }
        let count = 400
        try await fixture.declareRequests()
        try await fixture.publishChat(count)
        let worker = try await fixture.worker(["--amqp-prefetch", "32", "--bulk-max-queue-delay-ms", "200"])
        try await waitUntil("the first verdicts", timeout: .seconds(45), every: .milliseconds(50)) { try await fixture.ready(fixture.results) > 0 }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0, "\(worker.log)")
        let left = try await fixture.ready(fixture.queue)
        let answered = try await fixture.ready(fixture.results)
        #expect(left > 0, "it stopped early")
        #expect(left + answered == count, "held messages were neither answered nor returned: \(left) left, \(answered) answered")
    }
}

/// A broker of its own, restarted under a running worker: the worker connects again, declares and consumes
/// again, and every message of the quorum queue, from before and after the restart, gets its verdict.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AMQPWorkerRestartTests {
    @Test func theWorkerComesBackAfterABrokerRestartAndNothingIsLost() async throws {
        let server = try await RabbitMQServerProcess.start()
        defer { Task { await server.stop() } }
        let before = try await AMQPWorkerTests.Fixture.start(on: server)
        try await before.declareRequests()
        try await before.publishChat(40, prefix: "a")
        let worker = try await before.worker(["--amqp-prefetch", "8", "--bulk-max-queue-delay-ms", "100"])
        defer { if worker.isRunning { worker.send(SIGKILL) } }
        try await waitUntil("the first verdicts", timeout: .seconds(45), every: .milliseconds(50)) { try await before.ready(before.results) > 0 }

        await server.halt()
        try await server.launch()
        let after = try await AMQPWorkerTests.Fixture.start(on: server, names: (before.queue, before.results))
        defer { Task { await after.stop() } }
        try await after.publishChat(40, prefix: "b")
        try await waitUntil("a verdict per message", timeout: .seconds(60), every: .milliseconds(50)) {
            let answered = try await after.ready(after.results)
            let left = try await after.ready(after.queue)
            return answered >= 80 && left == 0
        }
        #expect(await worker.stop() == 0)
        let ids = Set(try await after.take(after.results).compactMap(\.properties.messageID))
        #expect(ids == Set((0..<40).map { "a\($0)" } + (0..<40).map { "b\($0)" }), "a message was lost across the restart")
    }
}

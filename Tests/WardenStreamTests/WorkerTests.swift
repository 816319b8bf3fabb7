import Foundation
import NATSClient
import Testing
import WardenAPI
import WardenTestSupport

/// `warden worker` as a process against a real nats-server -js: verdicts, poison, kill -9, SIGTERM.
@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerTests {
    @Test func everyMessageGetsOneVerdictAcrossAKilledWorker() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        let count = 400
        try await fixture.publishChat(count)
        // Poison: not UTF-8, not JSON, nothing to score. Each gets an error verdict and a term.
        _ = try await fixture.js.publish(to: "chat.room0", payload: [0x7B, 0xFF, 0xFE, 0x7D])
        _ = try await fixture.js.publish(to: "chat.room0", payload: Array("not json".utf8))
        _ = try await fixture.js.publish(to: "chat.room0", payload: Array(#"{"input": "   "}"#.utf8))
        let total = count + 3

        // Batches wait 300 ms in the queue, so the first worker always holds messages when it is killed.
        let slow = ["--fetch-batch", "8", "--max-in-flight", "16", "--ack-wait", "2", "--bulk-max-queue-delay-ms", "300"]
        let first = try await fixture.worker(slow)
        try await fixture.wait("the first verdicts") { try await fixture.storedVerdicts() > 0 }
        first.send(SIGKILL)
        _ = try await first.waitForExit(timeout: .seconds(10))

        let metricsPort = closedLoopbackPort()
        let second = try await fixture.worker(["--fetch-batch", "16", "--metrics-port", String(metricsPort), "--metrics-host", "127.0.0.1"])
        let third = try await fixture.worker(["--fetch-batch", "16"])
        try await fixture.wait("a verdict per message") { try await fixture.storedVerdicts() >= total }
        try await fixture.wait("every message acked") {
            let info = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
            return info.numAckPending == 0 && info.numPending == 0
        }
        // The probes and the Prometheus scrape of a worker.
        let ready = try await Self.get("/readyz", port: metricsPort)
        #expect(ready.hasPrefix("HTTP/1.1 200"))
        let metrics = try await Self.get("/metrics", port: metricsPort)
        #expect(metrics.contains(#"warden_nats_messages_total{outcome="acked"}"#), "\(metrics)")
        #expect(await second.stop() == 0)
        #expect(await third.stop() == 0)

        let verdicts = try await fixture.readVerdicts()
        let sequences = verdicts.compactMap { $0.headers["Warden-Sequence"].flatMap(UInt64.init) }
        #expect(verdicts.count == total)
        #expect(Set(sequences) == Set(1...UInt64(total)), "exactly one verdict per source sequence")
        #expect(verdicts.allSatisfy { $0.headers["Nats-Msg-Id"] == "CHAT-\($0.headers["Warden-Sequence"] ?? "")" })
        // The killed worker's messages were delivered again: more deliveries than messages.
        let consumer = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
        #expect(consumer.delivered.consumerSequence > UInt64(total), "no redelivery after kill -9")

        for verdict in verdicts {
            let sequence = Int(verdict.headers["Warden-Sequence"] ?? "") ?? 0
            if sequence <= count {
                #expect(verdict.headers["Warden-Status"] == "200")
                let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(verdict.payload))
                #expect(response.results.count == 1 && response.id == "modr-CHAT-\(sequence)")
                #expect(verdict.subject.hasPrefix("moderation.results.chat.room"))
            } else {
                let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(verdict.payload))
                #expect(verdict.headers["Warden-Status"] == "400")
                #expect(["invalid_utf8", "invalid_json", "empty_text"].contains(error.error.code))
                #expect(verdict.headers["Warden-Error-Code"] == error.error.code)
            }
        }
    }

    static func get(_ path: String, port: Int) async throws -> String {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        _ = connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return await connection.read(timeout: .seconds(10)).text
    }

    @Test func sigtermFinishesAndAcksWhatItFetchedThenExitsZero() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.publishChat(600)
        let worker = try await fixture.worker(["--fetch-batch", "16", "--max-in-flight", "48", "--bulk-max-queue-delay-ms", "200"])
        try await fixture.wait("the first verdicts") { try await fixture.storedVerdicts() > 0 }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0, "\(worker.log)")
        let consumer = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
        #expect(consumer.numAckPending == 0, "a fetched message was left unacked")
        // It stopped early (the stream is not done) and answered every message it had fetched.
        #expect(consumer.numPending > 0)
        #expect(try await fixture.storedVerdicts() == Int(consumer.delivered.consumerSequence))
    }

    @Test func heldMessagesGetInProgressAcksAndOversizedOnesAreTerminated() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.publishChat(6)
        _ = try await fixture.js.publish(to: "chat.big", payload: Array(#"{"input": "\#(String(repeating: "long ", count: 100))"}"#.utf8))
        // Each batch waits 2.5 s for company, past the 1 s AckWait: only +WPI keeps it from being redelivered.
        let worker = try await fixture.worker([
            "--ack-wait", "1", "--fetch-batch", "4", "--bulk-max-queue-delay-ms", "2500",
            "--max-body-bytes", "300",
        ])
        try await fixture.wait("seven verdicts") { try await fixture.storedVerdicts() == 7 }
        #expect(await worker.stop() == 0)
        let consumer = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
        #expect(consumer.delivered.consumerSequence == 7, "a held message was redelivered despite in-progress acks")
        #expect(consumer.numAckPending == 0)
        let big = try #require(try await fixture.readVerdicts().first { $0.headers["Warden-Sequence"] == "7" })
        #expect(big.headers["Warden-Status"] == "413" && big.headers["Warden-Error-Code"] == "body_too_large")
    }

    @Test func overloadNaksWithADelayAndEverythingIsAnsweredOnce() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.publishChat(200)
        // The engine admits 8 items; the worker holds up to 64 messages: most are refused and naked.
        let metricsPort = closedLoopbackPort()
        let worker = try await fixture.worker([
            "--max-batch-size", "8", "--max-queued-items", "8", "--fetch-batch", "32",
            "--max-in-flight", "64", "--metrics-port", String(metricsPort), "--metrics-host", "127.0.0.1",
        ])
        try await fixture.wait("every message answered") {
            let info = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
            return info.numPending == 0 && info.numAckPending == 0
        }
        let metrics = try await Self.get("/metrics", port: metricsPort)
        let naked = metrics.split(separator: "\n").first { $0.hasPrefix(#"warden_nats_messages_total{outcome="naked"}"#) }
        #expect(naked.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0 > 0, "nothing was naked: \(metrics)")
        #expect(await worker.stop() == 0)
        let sequences = try await fixture.readVerdicts().compactMap { $0.headers["Warden-Sequence"].flatMap(UInt64.init) }
        #expect(sequences.count == 200 && Set(sequences) == Set(1...200))
    }

    @Test func aServerRestartMidRunLosesNothing() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.publishChat(300)
        let worker = try await fixture.worker(["--ack-wait", "2", "--fetch-batch", "16", "--bulk-max-queue-delay-ms", "100"])
        try await fixture.wait("the first verdicts") { try await fixture.storedVerdicts() > 0 }
        // The link goes down and comes back (same store): the worker reconnects and carries on.
        await fixture.server.halt()
        try await fixture.server.launch()
        try await fixture.wait("the client's reconnection") { fixture.nats.status == .connected }
        try await fixture.wait("every message answered after the restart") {
            guard let info = try? await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators") else { return false }
            return info.numPending == 0 && info.numAckPending == 0
        }
        #expect(await worker.stop() == 0)
        let sequences = try await fixture.readVerdicts().compactMap { $0.headers["Warden-Sequence"].flatMap(UInt64.init) }
        #expect(sequences.count == 300 && Set(sequences) == Set(1...300))
    }

    @Test func requestReplyAnswersInTheHTTPSchemaAndDiscoveryWorks() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        // Before any worker: nobody listens, and the request says so at once.
        await #expect {
            _ = try await fixture.nats.request("moderation.check", payload: Array(#"{"input": "hi"}"#.utf8), timeout: .seconds(30))
        } throws: { error in
            if case NATSError.noResponders = error { return true }
            return false
        }
        let worker = try WardenProcess.launch(["worker", "--model", TestPaths.tinyBert.path, "--workers", "1", "--nats-url", fixture.server.url])
        try await fixture.wait("the worker") { worker.standardOutput.contains("Warden worker is ready") }

        let answer = try await fixture.nats.request("moderation.check", payload: Array(#"{"input": ["hello", "you idiot"]}"#.utf8))
        let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(answer.payload))
        #expect(response.results.count == 2 && response.id.hasPrefix("modr-"))
        #expect(answer.headers["Nats-Service-Error-Code"] == nil)

        let refused = try await fixture.nats.request("moderation.check", payload: Array(#"{"input": []}"#.utf8))
        let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(refused.payload))
        #expect(error.error.code == "empty_input" && refused.headers["Nats-Service-Error-Code"] == "400")

        let ping = try await fixture.nats.request("$SRV.PING.warden", payload: [])
        let pong = try #require(try JSONSerialization.jsonObject(with: Data(ping.payload)) as? [String: Any])
        #expect(pong["type"] as? String == "io.nats.micro.v1.ping_response" && pong["name"] as? String == "warden")
        let id = try #require(pong["id"] as? String)
        let info = try await fixture.nats.request("$SRV.INFO.warden.\(id)", payload: [])
        let infoObject = try #require(try JSONSerialization.jsonObject(with: Data(info.payload)) as? [String: Any])
        let endpoints = try #require(infoObject["endpoints"] as? [[String: Any]])
        #expect(endpoints.first?["subject"] as? String == "moderation.check" && endpoints.first?["queue_group"] as? String == "warden")
        let stats = try await fixture.nats.request("$SRV.STATS", payload: [])
        let statsObject = try #require(try JSONSerialization.jsonObject(with: Data(stats.payload)) as? [String: Any])
        let endpointStats = try #require((statsObject["endpoints"] as? [[String: Any]])?.first)
        #expect(endpointStats["num_requests"] as? Int == 2 && endpointStats["num_errors"] as? Int == 1)
        #expect(await worker.stop() == 0)
    }
}

/// A poison message must never crash-loop a worker fleet: every hostile body gets an error verdict naming the
/// field (JetStream) or an error reply (core NATS request), and the same worker goes on scoring.
@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerPoisonTests {
    @Test func hostileBodiesOnTheStreamAndByRequestGetErrorsAndTheWorkerLivesOn() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        let worker = try await fixture.worker(["--fetch-batch", "8"])
        // Core NATS request/reply: the crash probe and the rest, one by one, on the same worker.
        for (body, status, code, param) in hostileJSONBodies {
            let answer = try await fixture.nats.request("moderation.check", payload: Array(body.utf8), timeout: .seconds(30))
            let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(answer.payload))
            #expect(error.error.code == code, "\(body.prefix(60))")
            #expect(error.error.param == param, "\(body.prefix(60))")
            #expect(answer.headers["Nats-Service-Error-Code"] == String(status), "\(body.prefix(60))")
        }
        // JetStream: each gets one error verdict and is terminated, never redelivered.
        for (body, _, _, _) in hostileJSONBodies {
            _ = try await fixture.js.publish(to: "chat.poison", payload: Array(body.utf8))
        }
        try await fixture.publishChat(3)
        let total = hostileJSONBodies.count + 3
        try await fixture.wait("a verdict per message") { try await fixture.storedVerdicts() >= total }
        try await fixture.wait("every message acked") {
            let info = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
            return info.numAckPending == 0 && info.numPending == 0
        }
        #expect(worker.isRunning, "\(worker.log)")
        let verdicts = try await fixture.readVerdicts()
        #expect(verdicts.count == total)
        for verdict in verdicts {
            let sequence = Int(verdict.headers["Warden-Sequence"] ?? "") ?? 0
            if sequence <= hostileJSONBodies.count {
                let (body, status, code, _) = hostileJSONBodies[sequence - 1]
                #expect(verdict.headers["Warden-Status"] == String(status), "\(body.prefix(60))")
                #expect(verdict.headers["Warden-Error-Code"] == code, "\(body.prefix(60))")
            } else {
                #expect(verdict.headers["Warden-Status"] == "200")
            }
        }
        let consumer = try await fixture.js.consumerInfo(stream: "CHAT", consumer: "moderators")
        #expect(consumer.delivered.consumerSequence == UInt64(total), "a poison message was delivered again")
        #expect(await worker.stop() == 0)
    }
}

/// `warden worker` reloads its model on SIGHUP: answers come from the new model, without a restart.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WorkerReloadTests {
    @Test func sighupSwapsTheModelTheWorkerAnswersWith() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        let bundle = try ReloadableBundle()
        let worker = try WardenProcess.launch(["worker", "--model", bundle.path, "--workers", "1", "--nats-url", fixture.server.url])
        try await fixture.wait("the worker") { worker.standardOutput.contains("Warden worker is ready") }
        func answeringModel() async throws -> String {
            let answer = try await fixture.nats.request("moderation.check", payload: Array(#"{"input": "hello"}"#.utf8))
            return try JSONDecoder().decode(ModerationResponse.self, from: Data(answer.payload)).model
        }
        #expect(try await answeringModel() == "tiny-bert")
        try bundle.write(version: "0.2.0", name: "tiny-bert-next")
        worker.send(SIGHUP)
        try await fixture.wait("answers from the reloaded model") { try await answeringModel() == "tiny-bert-next" }
        // The engine logs the reload just after the switch: the line may reach the pipe after the first answer.
        try await fixture.wait("the reload logged") { worker.log.contains("model reloaded") }
        #expect(await worker.stop() == 0)
    }
}

/// `"policy"` and `"explain"` over NATS request/reply, as over HTTP.
@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerPolicyTests {
    @Test func requestsChooseAPolicyAndAskForExplanations() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        let folder = try TempFolder()
        let policies = try folder.write("policies.yaml", "policies:\n  strict:\n    action: hold\n    thresholds: {toxic: 0, hate: 0, spam: 0}\n")
        let worker = try WardenProcess.launch(
            ["worker", "--model", TestPaths.tinyBert.path, "--workers", "1", "--nats-url", fixture.server.url, "--policies", policies])
        try await fixture.wait("the worker") { worker.standardOutput.contains("Warden worker is ready") }

        let body = #"{"input": "you are a complete idiot", "policy": "strict", "explain": true}"#
        let answer = try await fixture.nats.request("moderation.check", payload: Array(body.utf8))
        let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(answer.payload))
        #expect(response.policy == "strict")
        let result = try #require(response.results.first)
        #expect(result.flagged && result.action == "hold")
        // Every category flags under the policy, so each has its (possibly empty) list of spans.
        #expect(Set(result.highlights?.keys.map { $0 } ?? []) == ["toxic", "hate", "spam"])
        for span in result.highlights?.values.flatMap({ $0 }) ?? [] {
            #expect(Array("you are a complete idiot".utf16)[span.start..<span.end].elementsEqual(span.text.utf16))
        }

        let unknown = try await fixture.nats.request("moderation.check", payload: Array(#"{"input": "hi", "policy": "kids"}"#.utf8))
        let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(unknown.payload))
        #expect(error.error.code == "unknown_policy" && unknown.headers["Nats-Service-Error-Code"] == "400")
        #expect(await worker.stop() == 0)
    }
}

/// `warden worker --shadow-model`: a candidate model scores what the worker answered, over core-NATS requests
/// and the stream alike, and /metrics and the log say where the two decide differently.
@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerShadowTests {
    @Test func theShadowScoresRequestsAndStreamMessagesAndCountsDisagreements() async throws {
        let fixture = try await WorkerFixture.start()
        defer { Task { await fixture.stop() } }
        // The same model with `toxic` flagging everything: it disagrees exactly where the worker does not flag toxic.
        let bundle = try ReloadableBundle()
        try bundle.write(version: "0.9.0", thresholds: ["toxic": 0, "hate": 0.5, "spam": 0.5])
        let folder = try TempFolder()
        let metricsPort = closedLoopbackPort()
        // At nice 0: under the parallel suite a shadow at the default nice 19 gets almost no CPU (by design;
        // ThreadNiceTests checks the nice value).
        let worker = try await fixture.worker([
            "--shadow-model", bundle.path, "--shadow-rate", "1", "--shadow-nice", "0", "--shadow-log", folder.path("log.jsonl"),
            "--shadow-log-text", "--metrics-port", String(metricsPort), "--metrics-host", "127.0.0.1",
        ])
        // The worker is ready with its own model; the shadow warms on its own (samples before are dropped).
        try await fixture.wait("the shadow model") {
            try await WorkerTests.get("/metrics", port: metricsPort).contains(#"warden_shadow_model_info{model="tiny-bert",version="0.9.0"} 1"#)
        }

        var answers: [(text: String, toxic: Bool)] = []
        for text in ["you are kind", "you are an idiot", "what a great day", "awful awful awful"] {
            let body = try JSONSerialization.data(withJSONObject: ["input": text])
            let answer = try await fixture.nats.request("moderation.check", payload: Array(body))
            let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(answer.payload))
            answers.append((text, response.results[0].categories["toxic"] == true))
        }
        try await fixture.publishChat(3)
        try await fixture.wait("a verdict per stream message") { try await fixture.storedVerdicts() >= 3 }
        for verdict in try await fixture.readVerdicts() {
            let response = try JSONDecoder().decode(ModerationResponse.self, from: Data(verdict.payload))
            let sequence = Int(verdict.headers["Warden-Sequence"] ?? "") ?? -1
            answers.append(("message number \(sequence - 1) from the chat, hello there", response.results[0].categories["toxic"] == true))
        }
        #expect(answers.count == 7)

        let expected = #"warden_shadow_samples_total{outcome="scored"} 7"#
        var metrics = ""
        try await fixture.wait("every answer scored by the shadow") {
            metrics = try await WorkerTests.get("/metrics", port: metricsPort)
            return metrics.contains(expected)
        }
        let unflagged = answers.filter { !$0.toxic }.map(\.text)
        #expect(metrics.contains(#"warden_shadow_decisions_total{category="toxic",outcome="shadow_only"} \#(unflagged.count)"#), "\(metrics)")
        #expect(metrics.contains(#"warden_shadow_decisions_total{category="toxic",outcome="agree"} \#(7 - unflagged.count)"#), "\(metrics)")
        #expect(await worker.stop() == 0)
        let lines = try String(contentsOfFile: folder.path("log.jsonl"), encoding: .utf8).split(separator: "\n")
        let logged = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(logged.compactMap { $0["text"] as? String }.sorted() == unflagged.sorted())
    }
}

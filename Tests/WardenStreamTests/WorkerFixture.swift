import Foundation
import NATSClient
import WardenTestSupport

/// A nats-server with a source stream (`CHAT`, `chat.>`) and a results stream (`RESULTS`,
/// `moderation.results.>`), a client on it, and `warden worker` processes on the tiny fixture model.
struct WorkerFixture {
    let server: NATSServerProcess
    let nats: NATSConnection
    var js: JetStream { JetStream(connection: nats) }

    static func start() async throws -> WorkerFixture {
        let server = try await NATSServerProcess.start()
        let nats = try await NATSConnection.connect(NATSOptions(servers: [server.url]))
        let js = JetStream(connection: nats)
        _ = try await js.createStream(StreamConfig(name: "CHAT", subjects: ["chat.>"]))
        _ = try await js.createStream(StreamConfig(name: "RESULTS", subjects: ["moderation.results.>"], duplicateWindow: .seconds(120)))
        return WorkerFixture(server: server, nats: nats)
    }

    func stop() async {
        nats.close()
        await server.stop()
    }

    /// Publishes `count` chat messages as `/v1/moderations` bodies and returns their payloads by sequence.
    func publishChat(_ count: Int) async throws {
        for index in 0..<count {
            let body = #"{"input": "message number \#(index) from the chat, hello there"}"#
            _ = try await js.publish(to: "chat.room\(index % 3)", payload: Array(body.utf8))
        }
    }

    /// Starts `warden worker` on the fixture's server with the tiny model and waits for its ready line.
    func worker(_ arguments: [String] = []) async throws -> WardenProcess {
        let worker = try WardenProcess.launch(
            [
                "worker", "--model", TestPaths.tinyBert.path, "--workers", "1", "--log-level", "warning",
                "--stream", "CHAT", "--consumer", "moderators", "--nats-url", server.url,
            ] + arguments)
        try await waitUntil("the worker's ready line", timeout: .seconds(120)) {
            guard worker.isRunning else { throw WardenProcess.Failure(description: "worker exited early:\n\(worker.log)") }
            return worker.standardOutput.contains("Warden worker is ready")
        }
        return worker
    }

    /// Waits (bounded) until `condition` holds.
    func wait(_ what: String, timeout: Duration = .seconds(90), until condition: () async throws -> Bool) async throws {
        try await waitUntil(what, timeout: timeout, condition)
    }

    func storedVerdicts() async throws -> Int { try await js.streamInfo("RESULTS").state.messages }

    /// Every verdict stored in RESULTS, read through a fresh consumer.
    func readVerdicts() async throws -> [JetStreamMessage] {
        let name = "reader\(Int.random(in: 0..<1_000_000))"
        _ = try await js.createConsumer(stream: "RESULTS", config: ConsumerConfig(durableName: name, ackPolicy: "none", maxAckPending: -1))
        var all: [JetStreamMessage] = []
        while true {
            let batch = try await js.fetch(stream: "RESULTS", consumer: name, batch: 256, noWait: true)
            if batch.isEmpty { return all }
            all += batch
        }
    }
}

import Foundation
import Testing
import WardenTestSupport

@testable import NATSClient

/// The JetStream calls against a real `nats-server -js`.
@Suite(.serialized, .timeLimit(.minutes(10))) struct JetStreamTests {
    @Test func streamsPublishAcksAndDuplicates() async throws {
        try await NATSServerProcess.with { server in
            let nats = try await NATSConnection.connect(NATSOptions(servers: [server.url]))
            defer { nats.close() }
            let js = JetStream(connection: nats)
            await #expect {
                _ = try await js.streamInfo("CHAT")
            } throws: { ($0 as? JetStreamError)?.errorCode == JetStreamError.streamNotFound }
            let created = try await js.createStream(StreamConfig(name: "CHAT", subjects: ["chat.>"], storage: "memory"))
            #expect(created.config.subjects == ["chat.>"])
            let first = try await js.publish(to: "chat.room1", payload: Array("hi".utf8), messageID: "m-1")
            let again = try await js.publish(to: "chat.room1", payload: Array("hi".utf8), messageID: "m-1")
            #expect(first.stream == "CHAT" && first.sequence == 1 && !first.duplicate)
            #expect(again.duplicate && again.sequence == 1)
            #expect(try await js.streamInfo("CHAT").state.messages == 1)
            await #expect {
                _ = try await js.publish(to: "nostream.here", payload: [])
            } throws: { error in
                if case NATSError.noResponders = error { return true }
                return false
            }
        }
    }

    @Test func pullConsumerFetchAckNakTermAndProgress() async throws {
        try await NATSServerProcess.with { server in
            let nats = try await NATSConnection.connect(NATSOptions(servers: [server.url]))
            defer { nats.close() }
            let js = JetStream(connection: nats)
            _ = try await js.createStream(StreamConfig(name: "IN", subjects: ["in.>"], storage: "memory"))
            for index in 1...10 { _ = try await js.publish(to: "in.\(index % 2 == 0 ? "even" : "odd")", payload: Array("\(index)".utf8)) }
            let config = ConsumerConfig(durableName: "w", filterSubject: "in.>", ackWait: .seconds(30), maxAckPending: 100)
            let info = try await js.ensureConsumer(stream: "IN", config: config)
            #expect(info.config.ackPolicy == "explicit" && info.config.maxAckPending == 100 && info.numPending == 10)
            #expect(try await js.ensureConsumer(stream: "IN", config: config).name == "w")

            let batch = try await js.fetch(stream: "IN", consumer: "w", batch: 4)
            #expect(batch.map { $0.metadata?.streamSequence } == [1, 2, 3, 4])
            #expect(batch.allSatisfy { $0.metadata?.numDelivered == 1 && $0.metadata?.consumer == "w" })
            try batch[0].ack()
            try batch[1].term()
            try batch[2].inProgress()
            try batch[2].ack()
            try batch[3].nak()
            try await nats.flush()
            let redelivered = try await js.fetch(stream: "IN", consumer: "w", batch: 1)
            #expect(redelivered.first?.metadata?.streamSequence == 4 && redelivered.first?.metadata?.numDelivered == 2)
            try await redelivered[0].ackSync()

            // The rest, then nothing: no_wait answers at once, expires after its time.
            // no_wait with fewer messages than asked: those there, then the server's 404 ends the pull.
            let some = try await js.fetch(stream: "IN", consumer: "w", batch: 20, noWait: true)
            #expect(some.count == 6)
            for message in some { try message.nak() }
            try await nats.flush()
            let rest = try await js.fetch(stream: "IN", consumer: "w", batch: 20, expires: .milliseconds(300))
            #expect(rest.count == 6)
            for message in rest { try message.nak(delay: .seconds(60)) }
            try await nats.flush()
            #expect(try await js.fetch(stream: "IN", consumer: "w", batch: 5, noWait: true).isEmpty)
            let consumer = try await js.consumerInfo(stream: "IN", consumer: "w")
            #expect(consumer.numAckPending == 6 && consumer.ackFloor.streamSequence == 4)
        }
    }
}

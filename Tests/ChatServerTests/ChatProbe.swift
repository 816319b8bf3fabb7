import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

@testable import ChatServer

/// A real WebSocket chat client (hummingbird-websocket's `WebSocketClient`) driven by a test: `send` queues a
/// message, `next` waits for the next event the server sent.
final class ChatProbe: Sendable {
    struct Timeout: Error, CustomStringConvertible {
        var description: String
    }

    let user: String
    private let inbox = Mutex<[ServerEvent]>([])
    private let failure = Mutex<(any Error)?>(nil)
    private let outgoing: AsyncStream<String>
    private let outgoingContinuation: AsyncStream<String>.Continuation

    init(user: String) {
        self.user = user
        (outgoing, outgoingContinuation) = AsyncStream.makeStream(of: String.self)
    }

    func send(_ text: String) throws {
        let json = String(decoding: try JSONEncoder().encode(ClientMessage(text: text)), as: UTF8.self)
        outgoingContinuation.yield(json)
    }

    func sendRaw(_ text: String) { outgoingContinuation.yield(text) }

    /// Closes the connection once every queued message is sent.
    func close() { outgoingContinuation.finish() }

    /// Events received but not yet taken by `next`.
    var pending: [ServerEvent] { inbox.withLock { $0 } }

    /// The next event from the server; throws after `timeout` (only to avoid hanging a broken test).
    func next(timeout: Duration = .seconds(60)) async throws -> ServerEvent {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if let event = inbox.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return event }
            if let error = failure.withLock({ $0 }) { throw error }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Timeout(description: "\(user): no event from the chat server within \(timeout)")
    }

    /// Connects and runs until `close()` (call it from a child task).
    func run(url: String) async {
        do {
            try await WebSocketClient.connect(url: "\(url)?user=\(user)", logger: Logger(label: "probe.\(user)")) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message,
                                let event = try? JSONDecoder().decode(ServerEvent.self, from: Data(text.utf8))
                            else { continue }
                            self.inbox.withLock { $0.append(event) }
                        }
                    }
                    for await text in self.outgoing {
                        try await outbound.write(.text(text))
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                    try await group.waitForAll()
                }
            }
        } catch {
            failure.withLock { $0 = error }
        }
    }
}

/// Connects one probe per user to `url`, waits until each has joined, runs `body`, then disconnects them.
func withChatClients(url: String, users: [String], _ body: ([ChatProbe]) async throws -> Void) async throws {
    let probes = users.map(ChatProbe.init(user:))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for probe in probes {
            group.addTask { await probe.run(url: url) }
        }
        do {
            for probe in probes {
                let joined = try await probe.next()
                guard joined.type == "joined" else { throw ChatProbe.Timeout(description: "expected joined, got \(joined)") }
            }
            try await body(probes)
        } catch {
            probes.forEach { $0.close() }
            throw error
        }
        probes.forEach { $0.close() }
        try await group.waitForAll()
    }
}

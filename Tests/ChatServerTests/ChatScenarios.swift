import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOFoundationCompat
import Testing
import WardenClient

@testable import ChatServer

/// The chat server's end-to-end scenarios, run against whichever Warden a test starts (the real one in
/// `ChatEndToEndTests`, a stub in `ChatServerStubTests`). The chat server runs on a loopback port; its
/// clients are two real WebSocket connections.
enum ChatScenarios {
    static func chatConfiguration(
        wardenURL: String, policy: WardenClient.FailurePolicy,
        timeout: Duration = .seconds(30)
    ) -> ChatConfiguration {
        ChatConfiguration(
            host: "127.0.0.1", port: 0,
            warden: .init(
                baseURL: wardenURL, timeout: timeout,
                retry: .init(maxAttempts: 2, baseDelay: .milliseconds(20), maxDelay: .seconds(2)),
                failurePolicy: policy),
            logLevel: .warning)
    }

    /// Ann and Bob in one room: Ann's friendly message reaches Bob; her abusive one does not, and she is told
    /// the labels; her next friendly message is the next thing Bob sees (so the abusive one was never sent to
    /// him). Then the room's history is re-scored on the bulk lane over HTTP.
    static func moderatesMessages(wardenURL: String, friendly: String, abusive: String, friendlyAgain: String) async throws {
        let app = buildChatApplication(configuration: chatConfiguration(wardenURL: wardenURL, policy: .failClosed))
        try await app.test(.live) { client in
            let url = "ws://localhost:\(client.port!)/rooms/lobby/ws"
            try await withChatClients(url: url, users: ["ann", "bob"]) { probes in
                let (ann, bob) = (probes[0], probes[1])

                try ann.send(friendly)
                let delivered = try await bob.next()
                #expect(delivered.type == "message")
                #expect(delivered.user == "ann")
                #expect(delivered.text == friendly)
                #expect(delivered.unscored == nil)
                let echo = try await ann.next()
                #expect(echo.type == "message" && echo.text == friendly)

                try ann.send(abusive)
                let notice = try await ann.next()
                #expect(notice.type == "notice")
                #expect(notice.reason == "flagged")
                #expect(notice.text == abusive)
                let labels = notice.labels ?? []
                #expect(!labels.isEmpty, "the sender is told which labels were flagged")
                #expect(labels.allSatisfy { notice.message?.contains($0) == true })

                try ann.send(friendlyAgain)
                let next = try await bob.next()
                #expect(next.type == "message")
                #expect(next.text == friendlyAgain, "Bob's next message after the friendly one is not the abusive one")
                #expect(bob.pending.allSatisfy { $0.text != abusive })
                _ = try await ann.next()
            }

            // Re-score the history (the two delivered messages) on the bulk lane.
            let response = try await client.execute(uri: "/rooms/lobby/rescore", method: .post) { response in
                #expect(response.status == .ok)
                return try JSONDecoder().decode(RescoreResponse.self, from: Data(buffer: response.body))
            }
            #expect(response.results.map(\.text) == [friendly, friendlyAgain])
            #expect(response.results.allSatisfy { !$0.flagged && !$0.wasUnscored && !$0.scores.isEmpty })

            // Stricter thresholds flag everything with any score at all. Categories go by the names the API
            // answers with (the default model's `toxic` answers as OpenAI's `harassment`): take one it reported.
            let category = try #require(response.results.first?.scores.keys.sorted().first)
            let strict = try await client.execute(
                uri: "/rooms/lobby/rescore", method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"thresholds": {"\#(category)": 0.0}}"#)
            ) { response in
                try JSONDecoder().decode(RescoreResponse.self, from: Data(buffer: response.body))
            }
            #expect(strict.results.allSatisfy { $0.flagged && $0.labels.contains(category) })
        }
    }

    /// Warden is not answering at `wardenURL`: fail-open delivers Ann's message to Bob marked unscored;
    /// fail-closed refuses it and tells Ann, and Bob receives nothing.
    static func wardenDown(wardenURL: String, policy: WardenClient.FailurePolicy) async throws {
        let app = buildChatApplication(configuration: chatConfiguration(wardenURL: wardenURL, policy: policy, timeout: .seconds(20)))
        try await app.test(.live) { client in
            let url = "ws://localhost:\(client.port!)/rooms/ops/ws"
            try await withChatClients(url: url, users: ["ann", "bob"]) { probes in
                let (ann, bob) = (probes[0], probes[1])
                try ann.send("is anyone there?")
                switch policy {
                case .failOpen:
                    let delivered = try await bob.next()
                    #expect(delivered.type == "message")
                    #expect(delivered.text == "is anyone there?")
                    #expect(delivered.unscored == true)
                    let echo = try await ann.next()
                    #expect(echo.unscored == true)
                case .failClosed:
                    let notice = try await ann.next()
                    #expect(notice.type == "notice")
                    #expect(notice.reason == "moderation_unavailable")
                    #expect(notice.message?.contains("unreachable") == true)
                    // A delivery to Bob would have been written before Ann's notice; allow it time to arrive.
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(bob.pending.isEmpty, "nothing reaches Bob under fail-closed")
                }
            }
            // Fail-open kept the unscored message in the history, for re-scoring once Warden is back: while
            // Warden is down that fails clearly. Fail-closed delivered nothing, so there is nothing to re-score.
            let status = try await client.execute(uri: "/rooms/ops/rescore", method: .post) { $0.status }
            #expect(status == (policy == .failOpen ? .badGateway : .ok))
        }
    }
}

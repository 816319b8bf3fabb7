import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WardenClient
import WardenTestSupport

@testable import ChatServer

/// The chat server's logic against `StubWarden` (a toy scorer on a real loopback port) and a closed port.
/// `ChatEndToEndTests` runs the same scenarios against the real Warden and model.
@Suite("Chat server with a stub Warden", .timeLimit(.minutes(5)))
struct ChatServerStubTests {
    @Test("Friendly messages are broadcast, abusive ones are not and the sender is told why; history re-scored")
    func moderates() async throws {
        try await StubWarden.buildApplication().test(.live) { warden in
            try await ChatScenarios.moderatesMessages(
                wardenURL: "http://localhost:\(warden.port!)",
                friendly: "good morning everyone", abusive: "you are an idiot", friendlyAgain: "see you at lunch")
        }
    }

    @Test(
        "Warden unreachable: fail-open delivers unscored, fail-closed refuses",
        arguments: [WardenClient.FailurePolicy.failOpen, .failClosed])
    func wardenDown(policy: WardenClient.FailurePolicy) async throws {
        try await ChatScenarios.wardenDown(wardenURL: "http://127.0.0.1:\(refusingLoopbackPort())", policy: policy)
    }

    @Test("A message Warden scored only in part is delivered marked truncated; treated as unscored under fail-closed, it is refused")
    func partlyScored() async throws {
        try await StubWarden.buildApplication().test(.live) { warden in
            let wardenURL = "http://localhost:\(warden.port!)"
            let allowing = buildChatApplication(configuration: ChatScenarios.chatConfiguration(wardenURL: wardenURL, policy: .failClosed))
            try await allowing.test(.live) { client in
                try await withChatClients(url: "ws://localhost:\(client.port!)/rooms/long/ws", users: ["ann", "bob"]) { probes in
                    let (ann, bob) = (probes[0], probes[1])
                    try ann.send("an endless story about the weekend")
                    let delivered = try await bob.next()
                    #expect(delivered.type == "message" && delivered.truncated == true && delivered.unscored == nil)
                    #expect(try await ann.next().truncated == true)
                    try ann.send("a short one")
                    #expect(try await bob.next().truncated == nil)
                    _ = try await ann.next()
                }
            }

            var configuration = ChatScenarios.chatConfiguration(wardenURL: wardenURL, policy: .failClosed)
            configuration.warden.partlyScored = .unscored
            try await buildChatApplication(configuration: configuration).test(.live) { client in
                try await withChatClients(url: "ws://localhost:\(client.port!)/rooms/long/ws", users: ["ann", "bob"]) { probes in
                    let (ann, bob) = (probes[0], probes[1])
                    try ann.send("an endless story about the weekend")
                    let notice = try await ann.next()
                    #expect(notice.type == "notice" && notice.reason == "too_long_to_check")
                    #expect(notice.message?.contains("too long to be checked in full") == true)
                    try ann.send("a short one")
                    #expect(try await bob.next().text == "a short one", "the partly scored message never reached Bob")
                    _ = try await ann.next()
                }
            }
        }
    }

    @Test("Malformed and empty messages get an error event and are not broadcast")
    func malformed() async throws {
        try await StubWarden.buildApplication().test(.live) { warden in
            let app = buildChatApplication(
                configuration: ChatScenarios.chatConfiguration(
                    wardenURL: "http://localhost:\(warden.port!)", policy: .failClosed))
            try await app.test(.live) { client in
                try await withChatClients(url: "ws://localhost:\(client.port!)/rooms/r1/ws", users: ["ann"]) { probes in
                    probes[0].sendRaw("not json")
                    #expect(try await probes[0].next().type == "error")
                    try probes[0].send("")
                    #expect(try await probes[0].next().type == "error")
                }
                // Bad room names are not upgraded.
                let status = try await client.execute(uri: "/rooms/bad%20name/ws", method: .get) { $0.status }
                #expect(status != .switchingProtocols)
            }
        }
    }

    @Test("Command-line options: flags win over WARDEN_* environment variables, which win over defaults")
    func commandLine() throws {
        let defaults = try ChatServerCommand.parse([]).makeConfiguration(environment: [:])
        #expect(defaults.warden.baseURL == "http://127.0.0.1:8080")
        #expect(defaults.warden.failurePolicy == .failOpen)
        #expect(defaults.port == 8090)
        #expect(defaults.warden.partlyScored == .allow)

        let environment = [
            "WARDEN_URL": "http://env:1", "WARDEN_POLICY": "fail-closed", "WARDEN_API_KEY": "k",
            "WARDEN_TIMEOUT_MS": "250", "CHAT_PORT": "9000", "WARDEN_PARTLY_SCORED": "unscored",
        ]
        let fromEnvironment = try ChatServerCommand.parse([]).makeConfiguration(environment: environment)
        #expect(fromEnvironment.warden.baseURL == "http://env:1")
        #expect(fromEnvironment.warden.failurePolicy == .failClosed)
        #expect(fromEnvironment.warden.apiKey == "k")
        #expect(fromEnvironment.warden.timeout == .milliseconds(250))
        #expect(fromEnvironment.port == 9000)
        #expect(fromEnvironment.warden.partlyScored == .unscored)

        let flags = try ChatServerCommand.parse(["--warden-url", "http://flag:2", "--policy", "fail-open", "--port", "0", "--partly-scored", "allow"])
            .makeConfiguration(environment: environment)
        #expect(flags.warden.partlyScored == .allow)
        #expect(flags.warden.baseURL == "http://flag:2")
        #expect(flags.warden.failurePolicy == .failOpen)
        #expect(flags.port == 0)

        #expect(throws: (any Error).self) { try ChatServerCommand.parse(["--policy", "maybe"]) }
        #expect(throws: (any Error).self) {
            try ChatServerCommand.parse([]).makeConfiguration(environment: ["WARDEN_POLICY": "sometimes"])
        }
        #expect(throws: (any Error).self) { try ChatServerCommand.parse(["--partly-scored", "block"]) }
    }
}

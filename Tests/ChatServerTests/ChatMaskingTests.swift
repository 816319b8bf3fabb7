import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WardenClient
import WardenTestSupport

@testable import ChatServer

/// Masking instead of blocking, end to end: the real Warden with the trained model and a policies file, the
/// chat server on a loopback port, two real WebSocket clients.
@Suite("Chat server masks flagged words", .serialized, .timeLimit(.minutes(5)))
struct ChatMaskingTests {
    static let abusive = "thanks for the help, you are a complete idiot"
    static let masked = "thanks for the help, you are a complete *****"

    /// Ann's abusive message reaches Bob with the insult masked.
    static func deliversMasked(_ configuration: ChatConfiguration) async throws {
        try await buildChatApplication(configuration: configuration).test(.live) { client in
            try await withChatClients(url: "ws://localhost:\(client.port!)/rooms/lobby/ws", users: ["ann", "bob"]) { probes in
                let (ann, bob) = (probes[0], probes[1])
                try ann.send(Self.abusive)
                let delivered = try await bob.next()
                #expect(delivered.type == "message")
                #expect(delivered.masked == true)
                #expect(delivered.text == Self.masked)
                let echo = try await ann.next()
                #expect(echo.text == Self.masked)
                // A friendly message is delivered as it is.
                try ann.send("see you tomorrow")
                let friendly = try await bob.next()
                #expect(friendly.text == "see you tomorrow" && friendly.masked == nil)
            }
        }
    }

    @Test("--on-flagged mask, and a Warden policy whose action is mask, deliver the message with the insult masked")
    func masks() async throws {
        let folder = try TempFolder()
        let policies = try folder.write("policies.yaml", "policies:\n  community:\n    action: mask\n")
        let warden = try await WardenProcess.start(model: trainedModel, arguments: ["--policies", policies])
        do {
            var byFlag = ChatScenarios.chatConfiguration(wardenURL: warden.baseURL, policy: .failClosed)
            byFlag.onFlagged = .mask
            try await Self.deliversMasked(byFlag)

            var byPolicy = ChatScenarios.chatConfiguration(wardenURL: warden.baseURL, policy: .failClosed)
            byPolicy.wardenPolicy = "community"
            try await Self.deliversMasked(byPolicy)
        } catch {
            await warden.stop()
            throw error
        }
        #expect(await warden.stop() == 0)
    }

    @Test("the flags and their environment variables are read and checked")
    func options() throws {
        let command = try ChatServerCommand.parse(["--on-flagged", "mask", "--warden-policy", "kids"])
        let configuration = try command.makeConfiguration(environment: [:])
        #expect(configuration.onFlagged == .mask)
        #expect(configuration.messageOptions.policy == "kids")
        #expect(configuration.messageOptions.explain == true)
        let fromEnvironment = try ChatServerCommand.parse([]).makeConfiguration(environment: ["CHAT_ON_FLAGGED": "mask"])
        #expect(fromEnvironment.onFlagged == .mask)
        #expect(try ChatServerCommand.parse([]).makeConfiguration(environment: [:]).messageOptions.explain == nil)
        #expect(throws: (any Error).self) { try ChatServerCommand.parse([]).makeConfiguration(environment: ["CHAT_ON_FLAGGED": "hide"]) }
    }
}

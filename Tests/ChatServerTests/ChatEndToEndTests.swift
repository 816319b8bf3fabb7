import Foundation
import Testing
import WardenClient
import WardenTestSupport

@testable import ChatServer

/// The end-to-end test: the real Warden (`warden serve`, the trained model in
/// `models/minilm-moderation`) and the chat server on loopback ports, two real WebSocket clients.
/// The trained default model, relative to the package root.
let trainedModel = "models/minilm-moderation"

@Suite("Chat server end to end with the real Warden", .serialized, .timeLimit(.minutes(5)))
struct ChatEndToEndTests {
    static let model = trainedModel

    @Test(
        "Friendly reaches the other client, abusive does not and the sender is told why; then, with Warden stopped, fail-open delivers and fail-closed refuses")
    func endToEnd() async throws {
        let warden = try await WardenProcess.start(model: Self.model)
        do {
            try await ChatScenarios.moderatesMessages(
                wardenURL: warden.baseURL,
                friendly: "Good morning everyone, hope you all have a lovely day!",
                abusive: "You are a worthless idiot and everyone hates you.",
                friendlyAgain: "Thanks for the help with the project yesterday.")
        } catch {
            await warden.stop()
            throw error
        }
        #expect(await warden.stop() == 0)
        for policy in WardenClient.FailurePolicy.allCases {
            try await ChatScenarios.wardenDown(wardenURL: warden.baseURL, policy: policy)
        }
    }
}

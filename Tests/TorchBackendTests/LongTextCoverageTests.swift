import Foundation
import Logging
import ServiceLifecycle
import Testing
import TorchBackend
import WardenCore
import WardenTestSupport

/// A long text cannot hide abuse: with the shipped model, an insult placed anywhere in a 5,000-word text is
/// flagged (it was missed at words 220 and 2,495 when windows were spread with gaps between them).
@Suite("Long texts with the default model", .serialized, .timeLimit(.minutes(3)))
struct LongTextCoverageTests {
    static let filler = ["the", "weather", "was", "nice", "so", "we", "walked", "to", "the", "park", "and", "back", "home"]
    static let insult = "you are a worthless idiot and i will kill you"

    /// `words` filler words with the insult inserted before word `position`.
    static func text(words: Int, insultAt position: Int) -> String {
        var out = (0..<words).map { filler[$0 % filler.count] }
        out.insert(insult, at: position)
        return out.joined(separator: " ")
    }

    @Test("an insult at the start, in the middle or at the end of a 5,000-word text is flagged")
    func insultAnywhere() async throws {
        var configuration = EngineConfiguration()
        configuration.workers = 1
        configuration.moderator.cacheCapacity = 0
        let engine = try ModerationEngine(
            modelDirectory: TestPaths.defaultModel.path, configuration: configuration,
            backends: TorchBackendFactory(runtime: nil), logger: Logger(label: "test"))
        let services = ServiceGroup(configuration: .init(services: [engine], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            let moderator = try await engine.ready()
            let clean = try await moderator.moderate(
                [Self.text(words: 5000, insultAt: 0).replacingOccurrences(of: Self.insult + " ", with: "")],
                options: .init(lane: .bulk))
            #expect(!clean.results[0].flagged, "the filler alone is not flagged")
            for position in [0, 220, 2495, 4990] {
                let result = try await moderator.moderate([Self.text(words: 5000, insultAt: position)], options: .init(lane: .bulk)).results[0]
                #expect(result.flagged, "insult at word \(position): scores \(result.scores)")
                #expect(!result.truncated, "every word piece of a 5,000-word text is scored")
                #expect(result.windows > 40)
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

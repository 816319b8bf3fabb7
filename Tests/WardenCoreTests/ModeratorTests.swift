import Synchronization
import Testing
import WardenTestSupport
import WordPiece

@testable import WardenCore

/// Label 0 ("toxic") is 0.9 when the word "bad" is in the input, else 0.1; label 1 ("long") is the real
/// length / 1000. Records the rows it computed.
final class KeywordBackend: InferenceBackend, Sendable {
    let labelCount = 2
    let badID: Int32
    private let computed = Mutex<[[Int32]]>([])
    init(badID: Int32) { self.badID = badID }
    var rows: [[Int32]] { computed.withLock { $0 } }

    func score(_ batch: TokenBatch) async throws -> [Float] {
        var output: [Float] = []
        for r in 0..<batch.count {
            var row: [Int32] = []
            for c in 0..<batch.length where batch.attentionMask[r * batch.length + c] == 1 {
                row.append(Int32(batch.inputIDs[r * batch.length + c]))
            }
            computed.withLock { $0.append(row) }
            output += [row.contains(badID) ? 0.9 : 0.1, Float(row.count) / 1000]
        }
        return output
    }
}

@Suite(.timeLimit(.minutes(5))) struct ModeratorTests {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "bad", "hello", "world"] + (0..<100).map { "w\($0)" }

    /// A moderator over a 16-token model (windows of 14 word pieces) running on `backend`, inside `body`.
    func withModerator(
        _ edit: (inout ModeratorConfiguration) -> Void = { _ in },
        _ body: (Moderator, KeywordBackend) async throws -> Void
    ) async throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabulary, configuration: TokenizerConfiguration())
        let backend = KeywordBackend(badID: 5)
        var configuration = ModeratorConfiguration()
        configuration.longTextPolicy = .windows(overlap: 4)
        edit(&configuration)
        let batcher = try Batcher(backend: backend, configuration: .forTests, maxSequenceLength: 16, padID: tokenizer.padID)
        let moderator = try Moderator(
            tokenizer: tokenizer, labels: ["toxic", "long"], thresholds: [0.5, 0.5],
            maxSequenceLength: 16, textNormalization: .platformV1, batcher: batcher,
            configuration: configuration)
        try await withRunning(batcher) { try await body(moderator, backend) }
    }

    @Test func scoresFlagsAndThresholdOverrides() async throws {
        try await withModerator { moderator, _ in
            let response = try await moderator.moderate(["hello bad", "hello world"])
            #expect(response.results.map(\.flags) == [[true, false], [false, false]])
            #expect(response.results.map(\.flagged) == [true, false])
            #expect(response.results[1].scores == [0.1, 0.004])  // [CLS] hello world [SEP]
            #expect(response.results.allSatisfy { $0.windows == 1 && !$0.truncated && !$0.cached })

            let lowered = try await moderator.moderate(["hello world"], options: Moderator.Options(thresholds: ["toxic": 0.05]))
            #expect(lowered.results[0].flags == [true, false])

            let unknown = await moderationError { try await moderator.moderate(["x"], options: Moderator.Options(thresholds: ["spam": 0.5])) }
            #expect(unknown?.code == .invalidThreshold)
            #expect(unknown?.description.contains("toxic, long") == true)
            let outOfRange = await moderationError { try await moderator.moderate(["x"], options: Moderator.Options(thresholds: ["toxic": 1.5])) }
            #expect(outOfRange?.code == .invalidThreshold)
        }
    }

    @Test func longTextsAreScoredInWindowsSoTheEndIsNotMissed() async throws {
        let long = (0..<40).map { "w\($0)" }.joined(separator: " ") + " bad"  // 41 distinct word pieces
        try await withModerator { moderator, backend in
            let result = try await moderator.moderate([long], options: Moderator.Options(lane: .bulk)).results[0]
            // Width 14, overlap 4: span 27, stride 10 → 4 windows; the last one holds "bad".
            #expect(result.windows == 4)
            #expect(!result.truncated)
            #expect(result.flagged)
            #expect(result.scores == [0.9, 0.016])  // per-label maximum over the windows
            #expect(backend.rows.count == 4)
            #expect(backend.rows.allSatisfy { $0.count == 16 })
            // Identical windows (a repeated word) are computed once.
            let repeated = Array(repeating: "w1", count: 40).joined(separator: " ") + " bad"
            #expect(try await moderator.moderate([repeated]).results[0].flagged)
            #expect(backend.rows.count == 6)
        }
        try await withModerator({ $0.longTextPolicy = .truncate }) { moderator, _ in
            let result = try await moderator.moderate([long]).results[0]
            #expect(result.windows == 1)
            #expect(result.truncated)
            #expect(!result.flagged)
        }
    }

    @Test func repeatsAreAnsweredByTheCacheAndDuplicatesComputedOnce() async throws {
        try await withModerator { moderator, backend in
            let first = try await moderator.moderate(["w1 w2", "w1 w2", "w3"])
            #expect(backend.rows.count == 2)
            #expect(first.results[0] == first.results[1])
            let second = try await moderator.moderate(["w3", "w1 w2", "w4"])
            #expect(second.results.map(\.cached) == [true, true, false])
            #expect(second.results[0].scores == first.results[2].scores)
            #expect(backend.rows.count == 3)
            // The cache is keyed by the normalised text: an HTML-entity variant is the same text.
            _ = try await moderator.moderate(["w5 & w6"])
            #expect(try await moderator.moderate(["w5 &amp; w6"]).results[0].cached)
        }
        try await withModerator({ $0.cacheCapacity = 0 }) { moderator, backend in
            _ = try await moderator.moderate(["w1 w2"])
            let again = try await moderator.moderate(["w1 w2"])
            #expect(!again.results[0].cached)
            #expect(backend.rows.count == 2)
        }
    }

    /// The one "nothing to score" rule, decided after normalisation: empty and blank texts, entities that
    /// decode to spaces, private-use and format characters. Nothing of such a request reaches the model.
    @Test func textWithNothingToScoreIsRefusedAfterNormalisation() async throws {
        try await withModerator { (moderator: Moderator, backend: KeywordBackend) async throws in
            for (texts, index) in [
                ([""], 0), (["hello", "   \t\n"], 1), (["&nbsp;&nbsp;"], 0),
                (["w1", "w2", "\u{E000}\u{F8FF}\u{E123}"], 2), (["\u{200B}\u{FEFF}\u{0007}"], 0),
            ] {
                let error = await #expect(throws: ModerationError.self) { try await moderator.moderate(texts) }
                #expect(error?.code == .emptyText, "\(texts)")
                #expect(error?.textIndex == index, "\(texts)")
            }
            #expect(backend.rows.isEmpty, "nothing of a refused request is scored")
            let none = try await moderator.moderate([])
            #expect(none.results.isEmpty)
            let ampersand = try await moderator.moderate(["&amp;"])
            #expect(ampersand.results.count == 1, "an entity that decodes to a character is text")
        }
    }

    @Test func labelCountMismatchIsRefusedAtStartUp() throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabulary, configuration: TokenizerConfiguration())
        let batcher = try Batcher(backend: KeywordBackend(badID: 5), configuration: .forTests, maxSequenceLength: 16)
        #expect(throws: ConfigurationError.self) {
            try Moderator(
                tokenizer: tokenizer, labels: ["a", "b", "c"], thresholds: [0.5, 0.5, 0.5], maxSequenceLength: 16,
                textNormalization: .none, batcher: batcher)
        }
    }

    /// Windows that fit the 16-token test model.
    static var smallWindows: ModeratorConfiguration {
        var configuration = ModeratorConfiguration()
        configuration.longTextPolicy = .windows(overlap: 4)
        return configuration
    }

    @Test func aRequestThatNamedNoLaneGoesInteractiveOnlyWhileItFitsTheInteractiveCap() async throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabulary, configuration: TokenizerConfiguration())
        var configuration = BatchingConfiguration.forTests
        configuration.interactive.maxRequestTokens = 16
        let gate = Gate()
        let batcher = try Batcher(backend: EchoBackend(gate: gate), configuration: configuration, maxSequenceLength: 16, padID: tokenizer.padID)
        let moderator = try Moderator(
            tokenizer: tokenizer, labels: ["a", "b"], thresholds: [0.5, 0.5], maxSequenceLength: 16,
            textNormalization: .none, batcher: batcher, configuration: Self.smallWindows)
        #expect(moderator.lane(forTokens: 16) == .interactive)
        #expect(moderator.lane(forTokens: 17) == .bulk)
        try await withRunning(batcher) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await moderator.moderate(["w1"]) }  // 3 tokens: interactive
                try await eventually { gate.entered == 1 }  // holds the worker
                group.addTask { _ = try await moderator.moderate(["w1 w2 w3 w4 w5 w6 w7 w8 w9 w10"]) }  // 12 tokens: fits
                group.addTask { _ = try await moderator.moderate(["w1 w2 w3 w4 w5 w6 w7 w8 w9 w10", "w11 w12"]) }  // 16 tokens
                group.addTask { _ = try await moderator.moderate(["w1 w2 w3 w4 w5 w6 w7 w8 w9 w10", "w11 w12 w13"]) }  // 17: bulk
                try await eventually { batcher.queueDepth(.interactive) == 3 && batcher.queueDepth(.bulk) == 2 }
                // Explicitly interactive and over the cap: refused, with the lane to use.
                let refused = await moderationError {
                    try await moderator.moderate(["w1 w2 w3 w4 w5 w6 w7 w8 w9 w10", "w11 w12 w13"], options: .init(lane: .interactive))
                }
                #expect(refused?.code == .requestTooLarge)
                gate.open()
                try await group.waitForAll()
            }
        }
    }

    @Test func aDeadlineLongerThanTheLanesLongestIsCutToIt() async throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabulary, configuration: TokenizerConfiguration())
        var configuration = BatchingConfiguration.forTests
        configuration.maxBatchSize = 1
        configuration.interactive.maxDeadline = .milliseconds(200)
        configuration.interactive.defaultDeadline = .milliseconds(200)
        let gate = Gate()
        let batcher = try Batcher(backend: EchoBackend(gate: gate), configuration: configuration, maxSequenceLength: 16, padID: tokenizer.padID)
        let moderator = try Moderator(
            tokenizer: tokenizer, labels: ["a", "b"], thresholds: [0.5, 0.5], maxSequenceLength: 16,
            textNormalization: .none, batcher: batcher, configuration: Self.smallWindows)
        try await withRunning(batcher) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A bulk request (generous deadline) holds the only worker.
                group.addTask { _ = try await moderator.moderate(["w1"], options: .init(lane: .bulk)) }
                try await eventually { gate.entered == 1 }
                // Asks for an hour; the lane allows 200 ms, after which the waiting item is dropped.
                group.addTask {
                    let error = await moderationError { try await moderator.moderate(["w2"], options: .init(lane: .interactive, deadline: .seconds(3600))) }
                    #expect(error?.code == .deadlineExceeded)
                }
                // Released only once the request is queued and its 200 ms have passed.
                try await eventually { batcher.queueDepth(.interactive) == 1 }
                try await Task.sleep(for: .milliseconds(300))
                gate.open()
                try await group.waitForAll()
            }
        }
    }

    @Test func aPartlyScoredTextIsFlaggedWhenThePolicySaysSo() async throws {
        let long = (0..<60).map { "w\($0)" }.joined(separator: " ")  // 60 pieces: more than 2 windows of 14 cover
        try await withModerator({ $0.maxWindowsPerText = 2 }) { moderator, _ in
            let result = try await moderator.moderate([long]).results[0]
            #expect(result.truncated && result.windows == 2)
            #expect(!result.flagged, "by default a partly scored text is only reported truncated")
        }
        try await withModerator({
            $0.maxWindowsPerText = 2
            $0.flagPartiallyScored = true
        }) { moderator, _ in
            let result = try await moderator.moderate([long, "w1 w2"]).results
            #expect(result[0].truncated && result[0].flagged, "unscored parts may hide abuse: flagged")
            #expect(!result[1].flagged, "a fully scored clean text is not")
            #expect(result[0].flags.allSatisfy { !$0 }, "no label claims what was not measured")
        }
    }
}

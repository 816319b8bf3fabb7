import Foundation
import Testing
import WardenAPI
import WardenTestSupport

@testable import WardenClient

/// The client against the real service: `warden serve` started as a process on a loopback port with the test
/// fixture model (`Tests/Fixtures/tiny-bert`, random weights: these tests check the protocol, not the scores).
///
/// Warden is put into the states under test with its own settings, no stubbing: a small admission bound
/// (`--max-queued-items 8`) and a long bulk batching delay (`--bulk-max-queue-delay-ms 3000`) make a bulk
/// request of 8 texts fill the queue for about 3 s, so that an interactive request gets a real 429 with
/// `Retry-After`, a bulk request with `deadline_ms: 50` a real 504, and a client with a 300 ms timeout a real
/// client-side timeout.
/// The test fixture model (random weights), relative to the package root.
let fixtureModel = "Tests/Fixtures/tiny-bert"

@Suite("WardenClient against the real Warden", .serialized, .timeLimit(.minutes(5)))
struct WardenClientRealTests {
    static let model = fixtureModel
    static let slowQueue = ["--max-queued-items", "8", "--bulk-max-queue-delay-ms", "3000", "--cache-size", "0"]

    /// Texts no earlier request used, so no cache can answer them.
    static func uniqueTexts(_ count: Int) -> [String] {
        let tag = UUID().uuidString.prefix(8)
        return (0..<count).map { "message \($0) of run \(tag) about the weekend plans" }
    }

    @Test("Scores a text and a batch (results in order), on both lanes")
    func scores() async throws {
        try await WardenProcess.with(model: Self.model) { warden in
            let client = WardenClient(configuration: .init(baseURL: warden.baseURL))
            let one = try await client.moderate("hello there", options: .interactive)
            #expect(Set(one.categoryScores.keys) == ["toxic", "hate", "spam"])
            let texts = Self.uniqueTexts(20)
            let many = try await client.moderate(texts, options: .bulk)
            #expect(many.count == 20)
            let again = try await client.moderate(Array(texts.reversed()), options: .init(lane: .bulk, thresholds: ["toxic": 0.99]))
            // Same scores whatever the batch order (padding differs), within float noise.
            for (a, b) in zip(again.reversed(), many) {
                for (label, score) in b.categoryScores {
                    #expect(abs((a.categoryScores[label] ?? -1) - score) < 1e-3)
                }
            }
        }
    }

    @Test("A real 429 with Retry-After: the client waits at least the hint before retrying, then succeeds")
    func retryAfterOn429() async throws {
        try await WardenProcess.with(model: Self.model, arguments: Self.slowQueue) { warden in
            let blockerClient = WardenClient(
                configuration: .init(
                    baseURL: warden.baseURL, timeout: .seconds(60), retry: .init(maxAttempts: 5, maxDelay: .seconds(5))))
            let probeClient = WardenClient(configuration: .init(baseURL: warden.baseURL, retry: .none))
            let events = EventLog()
            let client = WardenClient(
                configuration: .init(
                    baseURL: warden.baseURL, timeout: .seconds(30),
                    retry: .init(maxAttempts: 10, baseDelay: .milliseconds(50), maxDelay: .seconds(10)),
                    onEvent: { events.record($0) }))

            try await withThrowingTaskGroup(of: Void.self) { group in
                // 8 bulk texts: the queue is full (8 of 8 items) while they wait up to 3 s for a fuller batch.
                // It retries: a probe below may hold a queue slot at the moment it arrives.
                group.addTask { _ = try await blockerClient.moderate(Self.uniqueTexts(8), options: .bulk) }
                // Wait until the blocker is admitted: a request without retries then gets a 429 at once.
                var firstRefusal: WardenClientError?
                try await waitUntil("a 429 while the queue is full", every: .milliseconds(10)) {
                    do {
                        _ = try await probeClient.moderate(Self.uniqueTexts(1)[0], options: .interactive)
                        return false
                    } catch let error as WardenClientError where error.code == .overloaded {
                        firstRefusal = error
                        return true
                    }
                }
                let refusal = try #require(firstRefusal, "Warden never answered 429 while its queue was full")
                #expect(refusal.status == 429)
                let hint = try #require(refusal.retryAfter, "Warden's 429 carries Retry-After")
                #expect(hint >= .seconds(1))

                let (result, elapsed) = try await timed {
                    try await client.moderate(Self.uniqueTexts(1)[0], options: .interactive)
                }
                #expect(result.categoryScores.count == 3)
                let retries = events.all.compactMap { event -> (Duration, WardenClientError)? in
                    if case .retrying(_, let delay, let error) = event { (delay, error) } else { nil }
                }
                #expect(!retries.isEmpty, "the client met at least one 429 and retried")
                for (delay, error) in retries {
                    #expect(error.code == .overloaded)
                    #expect(error.retryAfter != nil)
                    #expect(delay >= (error.retryAfter ?? .zero), "waited \(delay) for a Retry-After of \(String(describing: error.retryAfter))")
                }
                #expect(elapsed >= (retries.first?.1.retryAfter ?? .seconds(1)))
                try await group.waitForAll()
            }
        }
    }

    @Test("Server deadline (504 → .deadlineExceeded) and client timeout (→ .timeout) are distinct errors")
    func deadlineVersusTimeout() async throws {
        try await WardenProcess.with(model: Self.model, arguments: Self.slowQueue) { warden in
            let client = WardenClient(configuration: .init(baseURL: warden.baseURL, timeout: .seconds(30)))
            let deadline = await #expect(throws: WardenClientError.self) {
                try await client.moderate(Self.uniqueTexts(2), options: .init(lane: .bulk, deadline: .milliseconds(50)))
            }
            #expect(deadline?.code == .deadlineExceeded)
            #expect(deadline?.status == 504)
            #expect(deadline?.serverCode == "deadline_exceeded")

            let impatient = WardenClient(configuration: .init(baseURL: warden.baseURL, timeout: .milliseconds(300)))
            let timeout = await #expect(throws: WardenClientError.self) {
                try await impatient.moderate(Self.uniqueTexts(2), options: .bulk)
            }
            #expect(timeout?.code == .timeout)
            #expect(timeout?.status == nil)
            #expect(timeout?.code != deadline?.code)
        }
    }

    @Test("Real 4xx answers: wrong API key (.unauthorized), too many inputs (.badRequest, too_many_inputs); not retried")
    func refusals() async throws {
        let key = "test-key-\(UUID().uuidString)"
        try await WardenProcess.with(model: Self.model, arguments: ["--api-key", key, "--max-inputs", "4"]) { warden in
            let events = EventLog()
            let anonymous = WardenClient(configuration: .init(baseURL: warden.baseURL, onEvent: { events.record($0) }))
            let unauthorized = await #expect(throws: WardenClientError.self) { try await anonymous.moderate("hi") }
            #expect(unauthorized?.code == .unauthorized)
            #expect(unauthorized?.status == 401)

            var configuration = WardenClient.Configuration(baseURL: warden.baseURL, apiKey: key, onEvent: { events.record($0) })
            configuration.maxInputsPerRequest = 100
            let client = WardenClient(configuration: configuration)
            _ = try await client.moderate("hi")
            let tooMany = await #expect(throws: WardenClientError.self) { try await client.moderate(Self.uniqueTexts(5)) }
            #expect(tooMany?.code == .badRequest)
            #expect(tooMany?.status == 422)
            #expect(tooMany?.serverCode == "too_many_inputs")
            #expect(events.retryDelays.isEmpty)

            configuration.maxInputsPerRequest = 4
            #expect(try await WardenClient(configuration: configuration).moderate(Self.uniqueTexts(9)).count == 9)
        }
    }

    @Test("Warden stopped: fail-open delivers unscored and reports it, fail-closed refuses")
    func failurePolicyWhenStopped() async throws {
        let warden = try await WardenProcess.start(model: Self.model)
        let url = warden.baseURL
        #expect(try await WardenClient(configuration: .init(baseURL: url)).moderate("hello").categoryScores.count == 3)
        #expect(await warden.stop() == 0, "graceful shutdown exits 0")

        for policy in WardenClient.FailurePolicy.allCases {
            let events = EventLog()
            let client = WardenClient(
                configuration: .init(
                    baseURL: url, timeout: .seconds(20), retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10)),
                    failurePolicy: policy, onEvent: { events.record($0) }))
            let verdict = await client.screen("hello again")
            guard case .unscored(let reason, let used) = verdict else {
                Issue.record("expected unscored, got \(verdict)")
                continue
            }
            #expect(reason.code == .unreachable)
            #expect(used == policy)
            #expect(verdict.shouldDeliver == (policy == .failOpen))
            #expect(events.unscored.count == 1)
        }
    }

    @Test("A text longer than the real Warden covers (--long-text truncate) comes back truncated, and screen reports it")
    func partlyScoredByTheRealWarden() async throws {
        try await WardenProcess.with(model: Self.model, arguments: ["--long-text", "truncate"]) { warden in
            let events = EventLog()
            let client = WardenClient(configuration: .init(baseURL: warden.baseURL, onEvent: { events.record($0) }))
            let long = Self.uniqueTexts(40).joined(separator: " ")  // about 400 word pieces; the model takes 126
            let results = try await client.moderate([long, "hello there"])
            #expect(results.map(\.isPartlyScored) == [true, false])
            #expect(results.map(\.windows) == [1, 1])
            let verdict = await client.screen(long)
            #expect(verdict.result?.isPartlyScored == true)
            #expect(events.partlyScored.count == (verdict.result?.flagged == true ? 0 : 1))
        }
    }
}

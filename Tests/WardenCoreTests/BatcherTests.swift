import Logging
import ServiceLifecycle
import Testing
import WardenCore
import WardenTestSupport

@testable import WardenCore

@Suite(.timeLimit(.minutes(5))) struct BatcherTests {
    func makeBatcher(_ backend: EchoBackend, workers: Int = 1, _ edit: (inout BatchingConfiguration) -> Void = { _ in }) throws -> Batcher {
        var configuration = BatchingConfiguration.forTests
        edit(&configuration)
        return try Batcher(backend: backend, workers: workers, configuration: configuration, maxSequenceLength: 128)
    }

    @Test func expiredItemsAreNeverComputed() async throws {
        let gate = Gate()
        let backend = EchoBackend(gate: gate)
        let batcher = try makeBatcher(backend)
        let a = sequence(10, seed: 1), b = sequence(10, seed: 2)
        try await withRunning(batcher) {
            async let first = batcher.score([a], lane: .interactive, deadline: .seconds(60))
            try await eventually { gate.entered == 1 }  // the only worker is busy with `a`
            let second = Task { try await batcher.score([b], lane: .interactive, deadline: .milliseconds(20)) }
            try await eventually { batcher.queueDepth(.interactive) == 1 }
            try await Task.sleep(for: .milliseconds(100))  // `b`'s deadline passes while it waits
            gate.open()
            let scores = try await first
            #expect(scores.rows == [EchoBackend.expected(a)])
            #expect(await moderationError { try await second.value }?.code == .deadlineExceeded)
        }
        #expect(backend.rows == [a])  // the recording backend never saw `b`
        #expect(batcher.statistics.expired == 1)
    }

    @Test func cancelledCallersAreAnsweredAtOnceAndNeverComputed() async throws {
        let gate = Gate()
        let backend = EchoBackend(gate: gate)
        let batcher = try makeBatcher(backend)
        let a = sequence(10, seed: 1), c = sequence(12, seed: 3), d = sequence(8, seed: 4)
        try await withRunning(batcher) {
            async let first = batcher.score([a], lane: .interactive)
            try await eventually { gate.entered == 1 }
            let caller = Task { try await batcher.score([c], lane: .interactive) }
            try await eventually { batcher.queueDepth(.interactive) == 1 }
            caller.cancel()
            // Answered while the worker is still blocked: cancellation does not wait for the backend.
            let result = await caller.result
            #expect(throws: ModerationError.cancelled) { try result.get() }
            #expect(batcher.queueDepth(.interactive) == 0)
            gate.open()
            _ = try await first
            #expect(try await batcher.score([d], lane: .bulk).rows == [EchoBackend.expected(d)])
        }
        #expect(backend.rows == [a, d])
        #expect(batcher.statistics.cancelled == 1)
    }

    @Test func refusesWorkBeyondTheQueueBoundsWithARetryHint() async throws {
        let gate = Gate()
        let backend = EchoBackend(gate: gate)
        let batcher = try makeBatcher(backend) { $0.maxQueuedItems = 2 }
        try await withRunning(batcher) {
            async let first = batcher.score([sequence(5, seed: 0)], lane: .interactive)
            try await eventually { gate.entered == 1 }
            async let queued = batcher.score([sequence(5, seed: 1), sequence(6, seed: 2)], lane: .bulk)
            try await eventually { batcher.queueDepth(.bulk) == 2 }
            let error = await moderationError { try await batcher.score([sequence(5, seed: 3)], lane: .interactive) }
            #expect(error?.code == .overloaded)
            #expect(error?.retryAfter != nil)
            gate.open()
            _ = try await first
            #expect(try await queued.rows.count == 2)
        }
    }

    @Test func identicalRequestsInOneBatchAreComputedOnce() async throws {
        let gate = Gate()
        let backend = EchoBackend(gate: gate)
        let batcher = try makeBatcher(backend)
        let a = sequence(10, seed: 1), same = sequence(7, seed: 9)
        try await withRunning(batcher) {
            async let first = batcher.score([a], lane: .interactive)
            try await eventually { gate.entered == 1 }
            async let x = batcher.score([same], lane: .interactive)
            async let y = batcher.score([same, same], lane: .interactive)
            try await eventually { batcher.queueDepth(.interactive) == 3 }
            gate.open()
            _ = try await first
            #expect(try await x.rows == [EchoBackend.expected(same)])
            #expect(try await y.rows == [EchoBackend.expected(same), EchoBackend.expected(same)])
        }
        #expect(backend.rows == [a, same])
        #expect(batcher.statistics.duplicates == 2)
    }

    @Test func backendFailuresReachTheCallers() async throws {
        struct Broken: InferenceBackend {
            struct Failure: Error {}
            let labelCount = 2
            func score(_ batch: TokenBatch) async throws -> [Float] { throw Failure() }
        }
        let batcher = try Batcher(backend: Broken(), configuration: BatchingConfiguration.forTests, maxSequenceLength: 128)
        try await withRunning(batcher) {
            #expect(await moderationError { try await batcher.score([sequence(4, seed: 0)], lane: .interactive) }?.code == .backendFailure)
        }
    }

    /// 1,000+ concurrent callers with random lengths and lanes through the real Batcher (2 workers): every
    /// caller gets exactly its own answer, and none is lost.
    @Test func everyConcurrentCallerGetsItsOwnAnswer() async throws {
        let backend = EchoBackend(work: .microseconds(200))
        let batcher = try makeBatcher(backend, workers: 2) {
            $0.maxQueuedItems = 100_000
            $0.maxQueuedTokens = 10_000_000
        }
        var generator = SplitMix64(seed: 42)
        let requests: [(lane: Lane, sequences: [[Int32]])] = (0..<1_200).map { i in
            let count = i % 10 == 0 ? Int.random(in: 2...5, using: &generator) : 1
            let lane: Lane = Bool.random(using: &generator) ? .interactive : .bulk
            return (lane, (0..<count).map { j in sequence(Int.random(in: 2...128, using: &generator), seed: i * 8 + j) })
        }
        let answered = try await withRunning(batcher) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for request in requests {
                    group.addTask {
                        let scores = try await batcher.score(request.sequences, lane: request.lane, deadline: .seconds(300))
                        return scores.rows == request.sequences.map(EchoBackend.expected)
                    }
                }
                var correct = 0
                for try await ok in group where ok { correct += 1 }
                return correct
            }
        }
        #expect(answered == requests.count)
        let items = requests.reduce(0) { $0 + $1.sequences.count }
        let statistics = batcher.statistics
        #expect(statistics.items == items)
        #expect(statistics.rows == backend.rows.count)
        #expect(statistics.batches < items)  // batching happened
        #expect(batcher.queueDepth(.interactive) + batcher.queueDepth(.bulk) == 0)
    }

    @Test func gracefulShutdownAnswersEverythingAdmitted() async throws {
        let gate = Gate()
        let backend = EchoBackend(gate: gate)
        let batcher = try makeBatcher(backend) { $0.maxBatchSize = 4 }
        let group = ServiceGroup(services: [batcher], logger: Logger(label: "test"))
        let sequences = (0..<20).map { sequence(3 + $0 % 9, seed: $0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await withThrowingTaskGroup(of: Bool.self) { callers in
                for s in sequences {
                    callers.addTask { try await batcher.score([s], lane: .bulk).rows == [EchoBackend.expected(s)] }
                }
                // All admitted: one batch on the (blocked) backend, the rest waiting.
                try await eventually { gate.entered == 1 && batcher.statistics.items + batcher.queueDepth(.bulk) == 20 }
                await group.triggerGracefulShutdown()
                try await eventually { batcher.isShuttingDown }
                let error = await moderationError { try await batcher.score([sequence(5, seed: 99)], lane: .interactive) }
                #expect(error?.code == .shuttingDown)
                gate.open()
                var answered = 0
                for try await ok in callers where ok { answered += 1 }
                #expect(answered == 20)
            }
            try await tasks.waitForAll()  // run() returned by itself after draining
        }
        #expect(backend.rows.count == 20)
    }

    @Test(arguments: [true, false])
    func packedBatchesAnswerEveryCallerAsPaddedOnesDo(packingOn: Bool) async throws {
        let backend = EchoBackend(packs: true)
        let batcher = try makeBatcher(backend) {
            $0.packing = packingOn ? .auto : .off
            $0.packedRowTokens = 32
            $0.interactive.maxQueueDelay = .milliseconds(20)
        }
        #expect(batcher.packs == packingOn)
        let requests = (0..<12).map { i in [sequence(3 + (i * 5) % 29, seed: i), sequence(4 + i, seed: 100 + i)] }
        try await withRunning(batcher) {
            try await withThrowingTaskGroup(of: (Int, Batcher.Scores).self) { group in
                for (i, request) in requests.enumerated() {
                    group.addTask { (i, try await batcher.score(request, lane: .interactive, deadline: .seconds(120))) }
                }
                for try await (i, scores) in group {
                    #expect(scores.rows == requests[i].map(EchoBackend.expected))
                }
            }
        }
        #expect(backend.packedBatches.isEmpty != packingOn)
        if packingOn {
            #expect(backend.packedBatches.contains { $0.segments > 1 }, "some rows held several messages")
        }
    }

    @Test func aBackendThatCannotPackGetsPaddedBatches() async throws {
        let backend = EchoBackend(packs: false)
        let batcher = try makeBatcher(backend) { $0.packing = .auto }
        #expect(!batcher.packs)
        let a = sequence(10, seed: 1)
        try await withRunning(batcher) {
            let scores = try await batcher.score([a], lane: .interactive, deadline: .seconds(120))
            #expect(scores.rows == [EchoBackend.expected(a)])
        }
    }
}

import Synchronization
import Testing
import WardenCore

/// A latch the tests open to let a backend call finish (to hold a worker busy deterministically).
final class Gate: Sendable {
    private struct State {
        var open = false
        var entered = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    init(open: Bool = false) { state.withLock { $0.open = open } }

    var entered: Int { state.withLock { $0.entered } }

    func pass() async {
        await withCheckedContinuation { continuation in
            let passNow = state.withLock { state in
                state.entered += 1
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if passNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A deterministic backend whose output encodes its input: per row `[sum of real ids, real length]`.
/// Records every row it computed (unpadded).
final class EchoBackend: InferenceBackend, Sendable {
    let labelCount = 2
    let gate: Gate
    private let computed = Mutex<[[Int32]]>([])
    private let work: Duration

    init(gate: Gate = Gate(open: true), work: Duration = .zero) {
        self.gate = gate
        self.work = work
    }

    var rows: [[Int32]] { computed.withLock { $0 } }

    static func expected(_ tokens: [Int32]) -> [Float] {
        [Float(tokens.reduce(0) { $0 + Int($1) }), Float(tokens.count)]
    }

    func score(_ batch: TokenBatch) async throws -> [Float] {
        await gate.pass()
        if work > .zero { try await Task.sleep(for: work) }
        var output: [Float] = []
        var rows: [[Int32]] = []
        for r in 0..<batch.count {
            var row: [Int32] = []
            for c in 0..<batch.length where batch.attentionMask[r * batch.length + c] == 1 {
                row.append(Int32(batch.inputIDs[r * batch.length + c]))
            }
            rows.append(row)
            output += Self.expected(row)
        }
        computed.withLock { $0 += rows }
        return output
    }
}

struct TimedOut: Error {}

/// Polls `condition` until it holds; fails after a generous `timeout` (only to avoid hangs).
func eventually(timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    let end = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < end else {
            Issue.record("condition not met within \(timeout)")
            throw TimedOut()
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// Runs `batcher` for the duration of `body`, then cancels it.
func withRunning<R: Sendable>(_ batcher: Batcher, _ body: () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await batcher.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}


func sequence(_ length: Int, seed: Int) -> [Int32] {
    [101] + (0..<max(length - 2, 0)).map { Int32(1000 + (seed * 31 + $0 * 7) % 20_000) } + [102]
}

/// The `ModerationError` thrown by `body`, or nil (recording an issue) if it succeeded or threw another error.
func moderationError<T>(_ body: () async throws -> T) async -> ModerationError? {
    do {
        _ = try await body()
        Issue.record("expected a ModerationError, got success")
        return nil
    } catch let error as ModerationError {
        return error
    } catch {
        Issue.record("expected a ModerationError, got \(error)")
        return nil
    }
}

extension BatchingConfiguration {
    /// Defaults with generous lane deadlines: the whole test suite runs in parallel on a small, busy
    /// machine, and a test that is not about deadlines must not fail because the CPU was slow.
    static var forTests: BatchingConfiguration {
        var configuration = BatchingConfiguration()
        configuration.interactive.defaultDeadline = .seconds(120)
        configuration.bulk.defaultDeadline = .seconds(300)
        return configuration
    }
}

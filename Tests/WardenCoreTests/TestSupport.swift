import Synchronization
import Testing
import WardenCore
import WardenTestSupport

/// Polls `condition` until it holds; fails after a generous `timeout` (only to avoid hangs).
func eventually(timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    try await waitUntil("the condition", timeout: timeout, every: .milliseconds(1)) { condition() }
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
        configuration.interactive.maxDeadline = .seconds(120)
        configuration.bulk.defaultDeadline = .seconds(300)
        return configuration
    }
}

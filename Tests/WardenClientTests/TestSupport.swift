import Foundation
import Synchronization
import WardenAPI

@testable import WardenClient

/// Collects the client's events for assertions.
final class EventLog: Sendable {
    private let events = Mutex<[WardenClientEvent]>([])
    var all: [WardenClientEvent] { events.withLock { $0 } }
    var retryDelays: [Duration] {
        all.compactMap { if case .retrying(_, let delay, _) = $0 { delay } else { nil } }
    }
    var unscored: [(WardenClientError, WardenClient.FailurePolicy)] {
        all.compactMap { if case .unscored(let reason, let policy) = $0 { (reason, policy) } else { nil } }
    }
    var partlyScored: [(ModerationResult, WardenClient.PartlyScoredPolicy)] {
        all.compactMap { if case .partlyScored(let result, let policy) = $0 { (result, policy) } else { nil } }
    }
    func record(_ event: WardenClientEvent) { events.withLock { $0.append(event) } }
}

/// Runs `body` and returns its result with the time it took.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try await body()
    return (value, clock.now - start)
}

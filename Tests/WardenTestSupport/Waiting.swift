import Foundation

/// A wait that did not end within its limit. The limits are guards against a hang, not performance checks:
/// a slow, busy machine only makes a test take longer.
public struct TimedOut: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds; throws ``TimedOut`` naming `what` once `timeout` has passed.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws {
    let end = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < end else { throw TimedOut("timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}

extension Process {
    /// Waits for the process to exit without blocking a thread of the cooperative pool (a blocking wait there
    /// starves every other suite running in parallel on a small machine). Past `timeout` it is killed
    /// (SIGKILL) and the wait returns false; without one, the wait is unbounded.
    @discardableResult
    public func waitForExit(killingAfter timeout: Duration? = nil) async -> Bool {
        let end = timeout.map { ContinuousClock.now + $0 }
        while isRunning {
            if let end, ContinuousClock.now >= end {
                kill(processIdentifier, SIGKILL)
                while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
                return false
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }
}

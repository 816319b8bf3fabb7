import Synchronization

/// A latch a test controls, so a backend (or anything else) can be held at a known point deterministically
/// instead of racing a sleep: callers of ``pass()`` wait while the gate is closed.
public final class Gate: Sendable {
    private struct State {
        var open: Bool
        var entered = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state: Mutex<State>

    /// A gate, closed unless `open`.
    public init(open: Bool = false) { state = Mutex(State(open: open)) }

    /// How many calls reached ``pass()`` so far (whether they waited or not).
    public var entered: Int { state.withLock { $0.entered } }

    /// Waits while the gate is closed.
    public func pass() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (passNow, ready) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                state.entered += 1
                if !state.open { state.waiting.append(continuation) }
                return (state.open, Self.takeWatchers(&state))
            }
            for watcher in ready { watcher.resume() }
            if passNow { continuation.resume() }
        }
    }

    /// Lets every waiting caller through, and later ones too until ``close()``.
    public func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Makes later callers wait again.
    public func close() { state.withLock { $0.open = false } }

    /// Returns once at least `count` calls have reached ``pass()`` (counting from the gate's creation).
    public func waitUntilEntered(_ count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.entered >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    private static func takeWatchers(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let entered = state.entered
        let ready = state.watchers.filter { $0.count <= entered }.map(\.continuation)
        state.watchers.removeAll { $0.count <= entered }
        return ready
    }
}

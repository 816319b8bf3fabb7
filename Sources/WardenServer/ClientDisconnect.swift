import NIOCore
import Synchronization

/// Tells the requests of one connection that their client went away (the channel closed), so the work they
/// queued is cancelled instead of computed for nobody. Hummingbird does not cancel a handler when its
/// connection closes.
///
/// One watch per open connection, registered on the channel's close future once (a keep-alive connection
/// may carry many requests; registering per request would grow the future's callbacks without bound).
/// ``ConnectionGuardHandler`` also closes it when the client shuts its side of the connection (it hung up
/// while waiting; proxies call this abort-on-close).
final class ClientDisconnect: Sendable {
    private static let open = Mutex<[ObjectIdentifier: ClientDisconnect]>([:])

    private struct State {
        var closed = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    /// The watch of `channel`'s connection.
    static func watch(_ channel: any Channel) -> ClientDisconnect {
        let key = ObjectIdentifier(channel)
        let (watch, isNew) = open.withLock { open -> (ClientDisconnect, Bool) in
            if let watch = open[key] { return (watch, false) }
            let watch = ClientDisconnect()
            open[key] = watch
            return (watch, true)
        }
        if isNew {
            channel.closeFuture.whenComplete { _ in
                open.withLock { _ = $0.removeValue(forKey: key) }
                watch.close()
            }
        }
        return watch
    }

    /// Runs `body`, cancelling it if the client of `channel` goes away first (then throws `CancellationError`).
    static func cancelling<T: Sendable>(on channel: any Channel, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let watch = watch(channel)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await watch.waitUntilClosed()
                return nil
            }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }

    /// Marks the client gone and cancels the requests waiting on it.
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the connection closes, or when the calling task is cancelled.
    private func waitUntilClosed() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.closed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

import Synchronization
import WardenCore

/// Where the model stands: loading, ready to serve, or failed. Shared by the routes (readiness, 503
/// before ready) and `ModelService` (which loads, warms up and runs the batcher).
final class EngineState: Sendable {
    enum Phase {
        case loading
        case ready(Moderator)
        case failed(String)
    }

    private struct Storage {
        var phase: Phase = .loading
        var listeningPort: Int?
        var announced = false
    }

    private let storage = Mutex(Storage())
    private let onReady: (@Sendable (_ port: Int) -> Void)?

    init(onReady: (@Sendable (_ port: Int) -> Void)?) {
        self.onReady = onReady
    }

    var phase: Phase { storage.withLock { $0.phase } }

    var moderator: Moderator? {
        if case .ready(let moderator) = phase { return moderator }
        return nil
    }

    func markReady(_ moderator: Moderator) {
        announceIfComplete { $0.phase = .ready(moderator) }
    }

    func markFailed(_ reason: String) {
        storage.withLock { $0.phase = .failed(reason) }
    }

    func markListening(port: Int) {
        announceIfComplete { $0.listeningPort = port }
    }

    /// Fires `onReady` once, when the model is warm and the socket is listening (in either order).
    private func announceIfComplete(_ change: (inout Storage) -> Void) {
        let port: Int? = storage.withLock { storage in
            change(&storage)
            guard !storage.announced, case .ready = storage.phase, let port = storage.listeningPort else { return nil }
            storage.announced = true
            return port
        }
        if let port { onReady?(port) }
    }
}

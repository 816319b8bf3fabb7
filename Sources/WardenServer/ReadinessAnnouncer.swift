import ServiceLifecycle
import Synchronization
import WardenCore

/// Fires the application's `ready` event once, when both the engine is warm and the socket listens (in
/// either order).
final class ReadinessAnnouncer: Sendable {
    private struct State {
        var engineReady = false
        var port: Int?
        var announced = false
    }

    private let state = Mutex(State())
    private let onReady: (@Sendable (_ port: Int) -> Void)?

    init(onReady: (@Sendable (_ port: Int) -> Void)?) {
        self.onReady = onReady
    }

    func engineIsReady() { update { $0.engineReady = true } }

    func listening(on port: Int) { update { $0.port = port } }

    private func update(_ change: (inout State) -> Void) {
        let port: Int? = state.withLock { state in
            change(&state)
            guard !state.announced, state.engineReady, let port = state.port else { return nil }
            state.announced = true
            return port
        }
        if let port { onReady?(port) }
    }
}

/// Tells the announcer when the engine is warm, then stays until shutdown (a service that returned early
/// would stop the application).
struct ReadinessWatcher: Service {
    let engine: ModerationEngine
    let announcer: ReadinessAnnouncer

    func run() async throws {
        if (try? await engine.ready()) != nil { announcer.engineIsReady() }
        try? await gracefulShutdown()
    }
}

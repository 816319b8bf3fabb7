import ServiceLifecycle
import UnixSignals
import WardenPolicies

/// Reloads the policies file on SIGHUP, without a restart: a valid file replaces the policies in force, an
/// invalid one leaves them and is logged (``PolicyStore/reload()``). Stops at graceful shutdown.
public struct PolicyReloadService: Service {
    public let store: PolicyStore

    public init(store: PolicyStore) { self.store = store }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            store.reload()
        }
    }
}

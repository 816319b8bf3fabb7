import Logging
import ServiceLifecycle
import UnixSignals
import WardenCore
import WardenPolicies

/// Runs its actions, in order, each time the process receives SIGHUP (the Unix convention for "reload your
/// configuration"), until graceful shutdown. `warden serve` and `warden worker` reload the model, and the
/// policies file when there is one, this way.
///
/// SIGHUP is trapped from the moment ``run()`` starts; before then it would end the process, as by default.
public struct HangupReloader: Service {
    /// One thing to reload; it reports its own outcome (logs, metrics).
    public typealias Action = @Sendable () async -> Void

    private let actions: [Action]

    public init(actions: [Action]) {
        self.actions = actions
    }

    /// Reloads the model `engine` serves, then the policies of `policies` when there are any: what SIGHUP
    /// does in `warden serve` and `warden worker`.
    public init(engine: ModerationEngine, policies: PolicyStore?, logger: Logger) {
        self.init(actions: [Self.modelReload(engine, logger: logger)] + (policies.map { [Self.policyReload($0, logger: logger)] } ?? []))
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let actions = actions
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                for action in actions { await action() }
            }
        }
    }

    /// Reloads the model `engine` serves from its directory; the engine logs the outcome (a failed or
    /// refused reload leaves the served model serving).
    public static func modelReload(_ engine: ModerationEngine, logger: Logger) -> Action {
        {
            logger.info("SIGHUP: reloading the model", metadata: ["model": "\(engine.bundle.directory)"])
            _ = try? await engine.reload()
        }
    }

    /// Reloads the policies file of `store`: a valid file replaces the policies in force, an invalid one
    /// leaves them and is logged (``PolicyStore/reload()``).
    public static func policyReload(_ store: PolicyStore, logger: Logger) -> Action {
        {
            logger.info("SIGHUP: reloading the policies", metadata: ["file": "\(store.file?.path ?? "")"])
            store.reload()
        }
    }
}

import Logging
import WardenGateway
import WardenPolicies

/// What the HTTP layer needs besides the engine: where to listen, what to accept, who may call. The model
/// and the batching settings belong to the `ModerationEngine` (`EngineConfiguration`).
public struct ServerConfiguration: Sendable {
    /// Address to bind (default loopback only).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port (tests).
    public var port: Int = 8080
    /// What one request may hold (the same limits as every other transport's).
    public var limits = RequestLimits()
    /// API keys accepted as `Authorization: Bearer <key>`; empty means no authentication.
    public var apiKeys: [String] = []
    /// Whether `/metrics` also requires an API key (when keys are set).
    public var protectMetrics: Bool = false
    /// Log level of the server's logger.
    public var logLevel: Logger.Level = .info
    /// A request whose body has not fully arrived this long after its head is closed. Default 30 s.
    public var bodyTimeout: Duration = .seconds(30)
    /// Most open connections; past it a request is answered 503 `too_many_connections`. Default 4096.
    public var maxConnections: Int = 4096
    /// A batch running longer than this on a backend is reported as stuck: `/readyz` answers 503 so that an
    /// orchestrator stops sending traffic (metrics show `warden_longest_running_batch_seconds`). Default 30 s.
    public var stuckBatchThreshold: Duration = .seconds(30)
    /// A connection idle this long between requests is closed. Default 30 s.
    public var idleTimeout: Duration = .seconds(30)
    /// On SIGTERM or SIGINT, how long the requests in flight have to finish before the rest are closed.
    /// Default 25 s: about a Kubernetes pod's default 30 s grace period, less time to exit.
    public var drainTimeout: Duration = .seconds(25)

    /// The named policies requests may choose (`"policy"`, an API key's default); nil: none configured.
    public var policies: PolicyStore?
    /// Whether `GET /` serves the page to try moderation in a browser. Default on.
    public var servesPage: Bool = true
    /// Whether `POST /admin/reload` reloads the model (it needs API keys: it is behind them). Default off.
    public var adminReload: Bool = false

    /// The defaults described on each property.
    public init() {}
}

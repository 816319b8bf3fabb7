import Logging

/// What the HTTP layer needs besides the engine: where to listen, what to accept, who may call. The model
/// and the batching settings belong to the `ModerationEngine` (`EngineConfiguration`).
public struct ServerConfiguration: Sendable {
    /// Address to bind (default loopback only).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port (tests).
    public var port: Int = 8080
    /// Largest request body accepted (413 beyond). Default 1 MiB.
    public var maxBodyBytes: Int = 1 << 20
    /// Most texts in one request (422 beyond). Default 256.
    public var maxInputs: Int = 256
    /// Texts at or below this count default to the interactive lane; larger arrays to bulk. Default 8.
    public var interactiveMaxInputs: Int = 8
    /// API keys accepted as `Authorization: Bearer <key>`; empty means no authentication.
    public var apiKeys: [String] = []
    /// Whether `/metrics` also requires an API key (when keys are set).
    public var protectMetrics: Bool = false
    /// Log level of the server's logger.
    public var logLevel: Logger.Level = .info

    /// The defaults described on each property.
    public init() {}
}

import Logging
import WardenCore

/// Everything `buildApplication(configuration:makeBackends:)` needs: where to listen, which model, how
/// to batch, what to accept, who may call.
public struct ServerConfiguration: Sendable {
    /// Address to bind (default loopback only).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port (tests).
    public var port: Int = 8080
    /// Model bundle folder (`models/<name>`).
    public var modelDirectory: String
    /// Batching engine settings (batch size, token budget, delays, admission, cache, workers).
    public var batching = BatchingConfiguration()
    /// Largest request body accepted (413 beyond).
    public var maxBodyBytes: Int = 1 << 20
    /// Most texts in one request (422 beyond).
    public var maxInputs: Int = 256
    /// Texts at or below this count default to the interactive lane; larger arrays to bulk.
    public var interactiveMaxInputs: Int = 8
    /// API keys accepted as `Authorization: Bearer <key>`; empty means no authentication.
    public var apiKeys: [String] = []
    /// Whether `/metrics` also requires an API key (when keys are set).
    public var protectMetrics: Bool = false
    /// Texts scored before readiness turns green, so the first real request does not pay warm-up costs.
    public var warmUpTexts: [String] = ServerConfiguration.defaultWarmUpTexts
    /// Log level of the server's logger.
    public var logLevel: Logger.Level = .info

    public init(modelDirectory: String) {
        self.modelDirectory = modelDirectory
    }

    /// Short, medium and long texts, so the warm-up touches several sequence lengths.
    public static let defaultWarmUpTexts: [String] = [
        "hello there",
        "thanks for the invite, see you all at the meeting tomorrow morning",
        String(repeating: "this is a longer warm-up message that spans many tokens of input. ", count: 12),
    ]
}

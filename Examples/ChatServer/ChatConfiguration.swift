import Logging
import WardenClient

/// Everything the chat server needs to start.
public struct ChatConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on; 0 picks a free one.
    public var port: Int
    /// How to reach Warden, and the failure policy.
    public var warden: WardenClient.Configuration
    /// Messages kept per room for `POST /rooms/{room}/rescore` (oldest dropped first).
    public var historyLimit: Int
    /// Largest WebSocket message accepted from a client, in bytes.
    public var maxMessageBytes: Int
    /// Server log level.
    public var logLevel: Logger.Level

    public init(
        host: String = "127.0.0.1", port: Int = 8090, warden: WardenClient.Configuration,
        historyLimit: Int = 1000, maxMessageBytes: Int = 16 << 10, logLevel: Logger.Level = .info
    ) {
        self.host = host
        self.port = port
        self.warden = warden
        self.historyLimit = historyLimit
        self.maxMessageBytes = maxMessageBytes
        self.logLevel = logLevel
    }
}

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
    /// What to do with a message Warden flags: refuse it, or deliver it with the flagged words masked.
    public var onFlagged: FlaggedMessageAction = .block
    /// The Warden policy that decides (`"policy"` of each request); nil: the API key's or Warden's default.
    public var wardenPolicy: String?

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

/// What the chat server does with a message Warden flags.
public enum FlaggedMessageAction: String, Sendable, CaseIterable {
    /// Refuse it and tell the sender why.
    case block
    /// Deliver it with the words that made it flagged replaced by `*` (Warden's explanations); a flagged
    /// message Warden cannot point at words in is refused as under `block`.
    case mask
}

extension ChatConfiguration {
    /// The options of each message's moderation call: the interactive lane, the Warden policy, and the
    /// explanations masking needs (also asked for under a Warden policy, whose action may be `mask`).
    var messageOptions: WardenClient.ModerationOptions {
        var options = WardenClient.ModerationOptions.interactive
        options.policy = wardenPolicy
        if onFlagged == .mask || wardenPolicy != nil { options.explain = true }
        return options
    }
}

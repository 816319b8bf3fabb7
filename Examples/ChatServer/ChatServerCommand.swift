import ArgumentParser
import Foundation
import Hummingbird
import Logging
import WardenClient

/// `ChatServer`: an example chat server that moderates every message with Warden.
@main
struct ChatServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-server",
        abstract: "Example chat server: WebSocket rooms where every message is screened by Warden before broadcast.",
        discussion: """
            Join a room with a WebSocket at ws://HOST:PORT/rooms/ROOM/ws?user=NAME and send {"text": "..."}.
            Re-score a room's history on Warden's bulk lane with POST /rooms/ROOM/rescore.
            Every option falls back to an environment variable (shown in its help) and then to its default.
            """
    )

    @Option(help: "Address to listen on (env CHAT_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env CHAT_PORT; default 8090).")
    var port: Int?

    @Option(help: "Base URL of Warden (env WARDEN_URL; default http://127.0.0.1:8080).")
    var wardenURL: String?

    @Option(help: "API key sent to Warden as a Bearer token (env WARDEN_API_KEY; default none).")
    var wardenAPIKey: String?

    @Option(
        help: "When Warden cannot answer: fail-open delivers messages unscored and logs them, fail-closed refuses them (env WARDEN_POLICY; default fail-open).")
    var policy: String?

    @Option(
        help:
            "When Warden scored only part of a message (too long for the model) and flagged nothing: allow delivers it, marked and logged; unscored treats it as unscored, so --policy decides (env WARDEN_PARTLY_SCORED; default allow)."
    )
    var partlyScored: String?

    @Option(help: "Client timeout for one Warden call, in milliseconds (env WARDEN_TIMEOUT_MS; default 2000).")
    var wardenTimeoutMs: Int?

    @Option(help: "Attempts per Warden call, including the first; retries on 429/503 and connection failures (env WARDEN_MAX_ATTEMPTS; default 3).")
    var wardenMaxAttempts: Int?

    @Option(
        help:
            "What to do with a flagged message: block refuses it, mask delivers it with the flagged words replaced by * (env CHAT_ON_FLAGGED; default block)."
    )
    var onFlagged: String?

    @Option(help: "The Warden policy that decides, sent as \"policy\" (env CHAT_WARDEN_POLICY; default none: the key's or Warden's default).")
    var wardenPolicy: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env LOG_LEVEL; default info).")
    var logLevel: String?

    func validate() throws {
        _ = try makeConfiguration(environment: ProcessInfo.processInfo.environment)
    }

    func run() async throws {
        let configuration = try makeConfiguration(environment: ProcessInfo.processInfo.environment)
        try await buildChatApplication(configuration: configuration).runService()
    }

    /// The configuration from the flags, then `environment`, then the defaults; checks every value.
    func makeConfiguration(environment: [String: String]) throws -> ChatConfiguration {
        func resolved(_ flag: String?, _ variable: String) -> String? {
            if let flag { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }
        func resolvedInt(_ flag: Int?, _ variable: String) throws -> Int? {
            if let flag { return flag }
            guard let text = resolved(nil, variable) else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(variable) must be a whole number, not '\(text)'.") }
            return value
        }

        let policyName = resolved(policy, "WARDEN_POLICY") ?? WardenClient.FailurePolicy.failOpen.rawValue
        guard let failurePolicy = WardenClient.FailurePolicy(rawValue: policyName) else {
            throw ValidationError("--policy (WARDEN_POLICY) must be fail-open or fail-closed, not '\(policyName)'.")
        }
        let partlyName = resolved(partlyScored, "WARDEN_PARTLY_SCORED") ?? WardenClient.PartlyScoredPolicy.allow.rawValue
        guard let partlyPolicy = WardenClient.PartlyScoredPolicy(rawValue: partlyName) else {
            throw ValidationError("--partly-scored (WARDEN_PARTLY_SCORED) must be allow or unscored, not '\(partlyName)'.")
        }
        let levelName = resolved(logLevel, "LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("--log-level (LOG_LEVEL) must be one of trace, debug, info, notice, warning, error, critical.")
        }
        let port = try resolvedInt(port, "CHAT_PORT") ?? 8090
        guard (0...65535).contains(port) else { throw ValidationError("--port (CHAT_PORT) must be between 0 and 65535.") }
        let timeoutMs = try resolvedInt(wardenTimeoutMs, "WARDEN_TIMEOUT_MS") ?? 2000
        guard timeoutMs > 0 else { throw ValidationError("--warden-timeout-ms (WARDEN_TIMEOUT_MS) must be positive.") }
        let attempts = try resolvedInt(wardenMaxAttempts, "WARDEN_MAX_ATTEMPTS") ?? 3
        guard attempts > 0 else { throw ValidationError("--warden-max-attempts (WARDEN_MAX_ATTEMPTS) must be at least 1.") }

        let warden = WardenClient.Configuration(
            baseURL: resolved(wardenURL, "WARDEN_URL") ?? "http://127.0.0.1:8080",
            apiKey: resolved(wardenAPIKey, "WARDEN_API_KEY"),
            timeout: .milliseconds(timeoutMs),
            retry: .init(maxAttempts: attempts),
            failurePolicy: failurePolicy,
            partlyScored: partlyPolicy)
        let onFlaggedName = resolved(onFlagged, "CHAT_ON_FLAGGED") ?? FlaggedMessageAction.block.rawValue
        guard let flaggedAction = FlaggedMessageAction(rawValue: onFlaggedName) else {
            throw ValidationError("--on-flagged (CHAT_ON_FLAGGED) must be block or mask, not '\(onFlaggedName)'.")
        }
        var configuration = ChatConfiguration(host: resolved(host, "CHAT_HOST") ?? "127.0.0.1", port: port, warden: warden, logLevel: level)
        configuration.onFlagged = flaggedAction
        configuration.wardenPolicy = resolved(wardenPolicy, "CHAT_WARDEN_POLICY")
        return configuration
    }
}

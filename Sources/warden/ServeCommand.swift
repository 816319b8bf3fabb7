import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore
import WardenGateway
import WardenServer

/// `warden serve`: the HTTP service.
struct ServeCommand: AsyncParsableCommand, RunsModel {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /v1/moderations (OpenAI's moderation API; /v1/moderate is an alias), /healthz, /readyz, /metrics and /v1/models.",
        discussion: """
            Every option falls back to a WARDEN_* environment variable, then to a default. SIGTERM or SIGINT \
            stops accepting connections, answers every request already accepted, then exits 0. SIGHUP reloads \
            the model from --model without a restart: the new model is warmed beside the old one, and a model \
            that fails to load leaves the old one serving.
            """)

    @Option(help: ArgumentHelp(ServeHelp.host)) var host: String?
    @Option(help: ArgumentHelp(ServeHelp.port)) var port: Int?

    @OptionGroup var engine: EngineOptions

    @Option(help: ArgumentHelp(ServeHelp.maxBodyBytes)) var maxBodyBytes: Int?
    @Option(help: ArgumentHelp(ServeHelp.maxInputs)) var maxInputs: Int?
    @Option(help: ArgumentHelp(ServeHelp.bodyTimeoutS)) var bodyTimeoutS: Double?
    @Option(help: ArgumentHelp(ServeHelp.maxConnections)) var maxConnections: Int?
    @Option(help: ArgumentHelp(ServeHelp.drainTimeoutS)) var drainTimeoutS: Double?
    @Option(name: .customLong("api-key"), help: ArgumentHelp(ServeHelp.apiKeys)) var apiKeys: [String] = []
    @Option(help: ArgumentHelp(ServeHelp.apiKeyFile)) var apiKeyFile: String?
    @Flag(help: ArgumentHelp(ServeHelp.protectMetrics)) var protectMetrics = false
    @Option(help: ArgumentHelp(ServeHelp.policies)) var policies: String?
    @Flag(name: .customLong("no-ui"), help: ArgumentHelp(ServeHelp.noUI)) var noUI = false
    @Flag(help: ArgumentHelp(ServeHelp.adminReload)) var adminReload = false
    @OptionGroup var shadow: ShadowOptions

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if let maxBodyBytes, maxBodyBytes < 1024 { throw ValidationError("--max-body-bytes must be at least 1024") }
        if let maxInputs, maxInputs < 1 { throw ValidationError("--max-inputs must be at least 1") }
    }

    func run() async throws {
        let logger = try engine.startLogging(label: "warden")
        var configuration = try serverConfiguration(logger: logger)
        // The Prometheus factory is bootstrapped before the engines make their metrics.
        _ = WardenMetrics.registry
        let engine = try engine.makeEngine(logger: logger)
        configuration.policies = try PolicyOption.store(policies, bundle: engine.bundle, logger: logger)
        let shadow = try self.shadow.makeShadow(comparingWith: engine, engine: self.engine, logger: logger)
        let events = ServerEvents(ready: { [configuration] port in
            print(WardenService.readyBanner(configuration: configuration, port: port))
            fflush(nil)
        })
        do {
            try await WardenService.run(
                configuration: configuration, engine: engine, shadow: shadow,
                services: [
                    MemoryReleaseService(engine: engine),
                    HangupReloader(engine: engine, policies: configuration.policies, logger: logger),
                ],
                logger: logger, events: events)
        } catch let error as EngineError {
            throw CommandFailure.modelNotLoaded(directory: self.engine.model.resolvedModelDirectory(), error)
        } catch {
            throw CommandFailure("stopped: \(error)")
        }
    }

    /// The server's configuration from the flags and their `WARDEN_*` variables.
    func serverConfiguration(logger: Logger) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = Setting.resolve(host, env: "WARDEN_HOST") ?? configuration.host
        try Setting.override(&configuration.port, with: port, env: "WARDEN_PORT")
        try Setting.override(&configuration.limits.maxBodyBytes, with: maxBodyBytes, env: "WARDEN_MAX_BODY_BYTES")
        try Setting.override(&configuration.limits.maxInputs, with: maxInputs, env: "WARDEN_MAX_INPUTS")
        configuration.apiKeys = try resolveAPIKeys()
        configuration.protectMetrics = try Setting.resolveFlag(protectMetrics, env: "WARDEN_PROTECT_METRICS")
        configuration.servesPage = !(try Setting.resolveFlag(noUI, env: "WARDEN_NO_UI"))
        configuration.adminReload = try Setting.resolveFlag(adminReload, env: "WARDEN_ADMIN_RELOAD")
        if configuration.adminReload && configuration.apiKeys.isEmpty {
            throw ValidationError("--admin-reload needs API keys (--api-key or --api-key-file): the reload endpoint is behind them")
        }
        configuration.logLevel = logger.logLevel
        configuration.bodyTimeout = try Setting.resolveSeconds(
            bodyTimeoutS, env: "WARDEN_BODY_TIMEOUT_S", default: configuration.bodyTimeout, flagName: "--body-timeout-s")
        configuration.drainTimeout = try Setting.resolveSeconds(
            drainTimeoutS, env: "WARDEN_DRAIN_TIMEOUT_S", default: configuration.drainTimeout, flagName: "--drain-timeout-s")
        try Setting.override(&configuration.maxConnections, with: maxConnections, env: "WARDEN_MAX_CONNECTIONS")
        guard configuration.maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        configuration.fitConnectionsToFileLimit(logger: logger)
        return configuration
    }

    /// `--api-key` (else `WARDEN_API_KEYS`), and the keys of `--api-key-file` / `WARDEN_API_KEY_FILE`.
    private func resolveAPIKeys() throws -> [String] {
        do {
            let (keys, warning) = try ServerConfiguration.apiKeys(
                listed: apiKeys, commaSeparated: Setting.environment["WARDEN_API_KEYS"],
                file: Setting.resolve(apiKeyFile, env: "WARDEN_API_KEY_FILE"))
            if let warning { FileHandle.standardError.write(Data("warden: warning: \(warning)\n".utf8)) }
            return keys
        } catch {
            throw ValidationError(error.description)
        }
    }
}

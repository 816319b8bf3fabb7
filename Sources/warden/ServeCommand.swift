import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore
import Hummingbird
import WardenServer

/// `warden serve`: the HTTP service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /v1/moderations (OpenAI's moderation API; /v1/moderate is an alias), /healthz, /readyz, /metrics and /v1/models.",
        discussion: """
            Every option falls back to a WARDEN_* environment variable, then to a default. SIGTERM or SIGINT \
            stops accepting connections, answers every request already accepted, then exits 0.
            """)

    @Option(help: "Address to bind (env WARDEN_HOST; default \(ServerConfiguration().host)).")
    var host: String?

    @Option(help: "Port to bind, 0 for any free port (env WARDEN_PORT; default \(ServerConfiguration().port)).")
    var port: Int?

    @OptionGroup(title: "Model and threads") var model: ModelOptions
    @OptionGroup(title: "Batching") var batching: BatchingOptions

    @Option(help: "Largest request body in bytes (env WARDEN_MAX_BODY_BYTES; default \(ServerConfiguration().maxBodyBytes)).")
    var maxBodyBytes: Int?

    @Option(help: "Most texts per request (env WARDEN_MAX_INPUTS; default \(ServerConfiguration().maxInputs)).")
    var maxInputs: Int?

    @Option(name: .customLong("api-key"), help: "An accepted API key (repeatable; env WARDEN_API_KEYS, comma-separated). No key: no authentication.")
    var apiKeys: [String] = []

    @Option(help: "File with one accepted API key per line (env WARDEN_API_KEY_FILE).")
    var apiKeyFile: String?

    @Flag(help: "Require an API key for /metrics too (env WARDEN_PROTECT_METRICS).")
    var protectMetrics = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env WARDEN_LOG_LEVEL; default info).")
    var logLevel: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if let maxBodyBytes, maxBodyBytes < 1024 { throw ValidationError("--max-body-bytes must be at least 1024") }
        if let maxInputs, maxInputs < 1 { throw ValidationError("--max-inputs must be at least 1") }
    }

    func run() async throws {
        let level = try resolveLogLevel(logLevel)
        bootstrapLogging(level: level)
        var logger = Logger(label: "warden")
        logger.logLevel = level

        var configuration = ServerConfiguration()
        configuration.host = Setting.resolve(host, env: "WARDEN_HOST") ?? configuration.host
        configuration.port = try Setting.resolve(port, env: "WARDEN_PORT", default: configuration.port)
        configuration.maxBodyBytes = try Setting.resolve(maxBodyBytes, env: "WARDEN_MAX_BODY_BYTES", default: configuration.maxBodyBytes)
        configuration.maxInputs = try Setting.resolve(maxInputs, env: "WARDEN_MAX_INPUTS", default: configuration.maxInputs)
        configuration.apiKeys = try resolveAPIKeys()
        configuration.protectMetrics = try Setting.resolveFlag(protectMetrics, env: "WARDEN_PROTECT_METRICS")
        configuration.logLevel = level

        let factory = try model.backendFactory()
        logger.info("runtime", metadata: ["threads": "\(factory.runtime.map { "\($0)" } ?? "as is")", "blas": "\(TorchRuntime.blasDescription)"])
        let engine: ModerationEngine
        do {
            engine = try ModerationEngine(modelDirectory: model.resolvedModelDirectory(),
                                          configuration: try batching.configuration(workers: try model.resolvedWorkers()),
                                          backends: factory, logger: logger)
        } catch let error as EngineError {
            throw CommandFailure("cannot start: \(error)")
        }
        let host = configuration.host
        let authHint = configuration.apiKeys.isEmpty ? "" : "-H 'Authorization: Bearer $WARDEN_API_KEY' "
        let app = buildApplication(configuration: configuration, engine: engine, logger: logger, events: ServerEvents(ready: { port in
            let shownHost = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
            print("""
                Warden is ready on http://\(shownHost):\(port)  (Ctrl-C to stop)
                Try: curl -s http://\(shownHost):\(port)/v1/moderations -H 'Content-Type: application/json' \(authHint)-d '{"input": "you are a wonderful person"}'
                """)
            fflush(nil)
        }))
        do {
            try await app.runService()
        } catch {
            throw CommandFailure("stopped: \(error)")
        }
    }

    private func resolveAPIKeys() throws -> [String] {
        var keys = apiKeys
        if keys.isEmpty, let env = Setting.environment["WARDEN_API_KEYS"] {
            keys = env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let path = Setting.resolve(apiKeyFile, env: "WARDEN_API_KEY_FILE") {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read the API key file \(path)")
            }
            keys += contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        keys = keys.filter { !$0.isEmpty }
        if let short = keys.first(where: { $0.utf8.count < 16 }) {
            throw ValidationError("API key '\(short.prefix(3))…' is shorter than 16 characters; use long random keys")
        }
        return keys
    }
}

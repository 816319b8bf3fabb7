import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore
import Hummingbird
import ServiceLifecycle
import Synchronization
import WardenServer
import WardenGateway

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

    @Option(help: "Largest request body in bytes (env WARDEN_MAX_BODY_BYTES; default \(RequestLimits().maxBodyBytes)).")
    var maxBodyBytes: Int?

    @Option(help: "Most texts per request (env WARDEN_MAX_INPUTS; default \(RequestLimits().maxInputs)).")
    var maxInputs: Int?

    @Option(help: "Close a request whose body has not fully arrived this many seconds after its head (env WARDEN_BODY_TIMEOUT_S; default \(Int(ServerConfiguration().bodyTimeout.seconds))).")
    var bodyTimeoutS: Double?

    @Option(help: "Most open connections; past it a request is answered 503 too_many_connections (env WARDEN_MAX_CONNECTIONS; default \(ServerConfiguration().maxConnections), lowered to fit the process's file limit).")
    var maxConnections: Int?

    @Option(help: "On SIGTERM/SIGINT, seconds to finish the requests in flight before closing the rest (env WARDEN_DRAIN_TIMEOUT_S; default \(Int(Self.defaultDrainTimeout.seconds))).")
    var drainTimeoutS: Double?

    @Option(name: .customLong("api-key"), help: "An accepted API key (repeatable; env WARDEN_API_KEYS, comma-separated). No key: no authentication. A key on the command line is visible in the process list: prefer WARDEN_API_KEYS or --api-key-file.")
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
        configuration.limits.maxBodyBytes = try Setting.resolve(maxBodyBytes, env: "WARDEN_MAX_BODY_BYTES", default: configuration.limits.maxBodyBytes)
        configuration.limits.maxInputs = try Setting.resolve(maxInputs, env: "WARDEN_MAX_INPUTS", default: configuration.limits.maxInputs)
        configuration.apiKeys = try resolveAPIKeys()
        configuration.protectMetrics = try Setting.resolveFlag(protectMetrics, env: "WARDEN_PROTECT_METRICS")
        configuration.logLevel = level
        configuration.bodyTimeout = try Setting.resolveSeconds(bodyTimeoutS, env: "WARDEN_BODY_TIMEOUT_S", default: configuration.bodyTimeout, flagName: "--body-timeout-s")
        let fileLimit = Self.raiseFileLimit()
        let connections = try Setting.resolve(maxConnections, env: "WARDEN_MAX_CONNECTIONS", default: configuration.maxConnections)
        guard connections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        // Each connection holds a descriptor: stay below the limit (with room for the model and logs), so
        // that accept() never fails with EMFILE, which made the event loop spin.
        configuration.maxConnections = min(connections, max(fileLimit - 256, 16))
        if configuration.maxConnections < connections {
            logger.warning("connection cap lowered to fit the file-descriptor limit", metadata: [
                "asked": "\(connections)", "cap": "\(configuration.maxConnections)", "file_limit": "\(fileLimit)"])
        }
        let drainTimeout = try Setting.resolveSeconds(drainTimeoutS, env: "WARDEN_DRAIN_TIMEOUT_S", default: Self.defaultDrainTimeout, flagName: "--drain-timeout-s")

        let factory = try model.backendFactory(logger: logger)
        TorchRuntime.log(factory.runtime, to: logger)
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
        let shutdown = ShutdownClock(drainTimeout: drainTimeout) { engine.moderator?.batcher.abandonQueuedWork() }
        var groupConfiguration = ServiceGroupConfiguration(services: [app, MemoryReleaseService(engine: engine), shutdown],
                                                           gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = drainTimeout
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch is CancellationError {
            // Cancelled at the drain timeout: reported below.
        } catch {
            shutdown.cancel()
            throw CommandFailure("stopped: \(error)")
        }
        shutdown.cancel()
        // Past the drain timeout the connections still open were closed and what was still queued was answered
        // 503 shutting_down: an orderly end (exit 0), but one an operator should know about.
        if let began = shutdown.began, ContinuousClock.now - began >= drainTimeout {
            logger.warning("drain timeout reached; the remaining connections were closed", metadata: ["drain_timeout_s": "\(drainTimeout.seconds)"])
        }
    }

    /// About a Kubernetes pod's default 30 s grace period, less time to exit.
    static let defaultDrainTimeout: Duration = .seconds(25)

    /// Raises the soft limit of open files to the hard limit; returns the limit in force.
    private static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    private func resolveAPIKeys() throws -> [String] {
        var keys = apiKeys
        if keys.isEmpty, let env = Setting.environment["WARDEN_API_KEYS"] {
            keys = env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let path = Setting.resolve(apiKeyFile, env: "WARDEN_API_KEY_FILE") {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                FileHandle.standardError.write(Data("warden: warning: the API key file \(path) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it\n".utf8))
            }
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

/// Notes when graceful shutdown began (SIGTERM or SIGINT), to tell a drain that finished from one that was
/// cut at the drain timeout; and shortly before that timeout (at 80 % of it, at most 2 s before) calls
/// `beforeTimeout`, which answers the requests still queued 503 `shutting_down` while their connections are
/// open, rather than leaving them to the bare close at the timeout.
final class ShutdownClock: Service, Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    private let drainTimeout: Duration
    private let beforeTimeout: @Sendable () -> Void
    private let timer = Mutex<Task<Void, Never>?>(nil)

    init(drainTimeout: Duration, beforeTimeout: @escaping @Sendable () -> Void) {
        self.drainTimeout = drainTimeout
        self.beforeTimeout = beforeTimeout
    }

    deinit { timer.withLock { $0?.cancel() } }

    var began: ContinuousClock.Instant? { instant.withLock { $0 } }

    func run() async throws {
        try? await gracefulShutdown()
        instant.withLock { $0 = $0 ?? .now }
        // Not awaited: the other services shut down meanwhile (they are signalled after this one returns).
        let margin = min(drainTimeout * 0.2, .seconds(2))
        let wait = drainTimeout - margin
        let beforeTimeout = beforeTimeout
        timer.withLock {
            $0 = Task {
                do { try await Task.sleep(for: wait) } catch { return }
                beforeTimeout()
            }
        }
    }

    /// Stops the timer (the drain finished in time).
    func cancel() { timer.withLock { $0?.cancel() } }
}

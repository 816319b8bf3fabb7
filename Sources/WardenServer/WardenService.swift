import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import WardenCore
import WardenGateway

/// `warden serve` without the command line: the application over the engine, run until SIGTERM or SIGINT,
/// then drained within ``ServerConfiguration/drainTimeout``.
public enum WardenService {
    /// Runs the application over `engine`, with `services` beside it (after the application, so they stop
    /// first), until SIGTERM or SIGINT and the drain. A drain cut at its timeout is logged as a warning: the
    /// connections still open were closed and what was still queued was answered 503 `shutting_down`.
    public static func run(
        configuration: ServerConfiguration, engine: ModerationEngine, shadow: ShadowScorer? = nil, services: [any Service] = [],
        logger: Logger, events: ServerEvents = ServerEvents()
    ) async throws {
        let drainTimeout = configuration.drainTimeout
        let app = buildApplication(configuration: configuration, engine: engine, shadow: shadow, logger: logger, events: events)
        let shutdown = ShutdownClock(drainTimeout: drainTimeout) { engine.moderator?.batcher.abandonQueuedWork() }
        defer { shutdown.cancel() }
        var group = ServiceGroupConfiguration(
            services: [app] + services + [shutdown], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = drainTimeout
        group.maximumCancellationDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: group).run()
        } catch is CancellationError {
            // Cancelled at the drain timeout: reported below.
        }
        if let began = shutdown.began, ContinuousClock.now - began >= drainTimeout {
            logger.warning("drain timeout reached; the remaining connections were closed", metadata: ["drain_timeout_s": "\(drainTimeout.seconds)"])
        }
    }

    /// The lines printed once the server is ready on `port`: where it listens and a request to try.
    public static func readyBanner(configuration: ServerConfiguration, port: Int) -> String {
        let host = configuration.host == "0.0.0.0" || configuration.host == "::" ? "127.0.0.1" : configuration.host
        let auth = configuration.apiKeys.isEmpty ? "" : "-H 'Authorization: Bearer $WARDEN_API_KEY' "
        return """
            Warden is ready on http://\(host):\(port)  (Ctrl-C to stop)
            Try: curl -s http://\(host):\(port)/v1/moderations -H 'Content-Type: application/json' \(auth)-d '{"input": "you are a wonderful person"}'
            """
    }
}

extension ServerConfiguration {
    /// Raises the process's soft limit of open files to its hard limit and lowers ``maxConnections`` to fit
    /// it: each connection holds a descriptor, and with room left for the model and the logs accept() never
    /// fails with EMFILE (which made the event loop spin). A lowered cap is logged to `logger` as a warning.
    /// Returns the file limit in force.
    @discardableResult
    public mutating func fitConnectionsToFileLimit(logger: Logger? = nil) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int.max }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let files = limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
        let asked = maxConnections
        maxConnections = min(maxConnections, max(files - 256, 16))
        if maxConnections < asked {
            logger?.warning(
                "connection cap lowered to fit the file-descriptor limit",
                metadata: [
                    "asked": "\(asked)", "cap": "\(maxConnections)", "file_limit": "\(files)",
                ])
        }
        return files
    }

    /// The API keys of a key file: one per line, blank lines and `#` comments left out. `warning` says when
    /// other users can read the file.
    public static func apiKeys(fromFile path: String) throws(ServerSetupError) -> (keys: [String], warning: String?) {
        var warning: String?
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            warning = "the API key file \(path) can be read by other users (mode \(String(mode & 0o777, radix: 8))); chmod 600 it"
        }
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ServerSetupError("cannot read the API key file \(path)")
        }
        let keys = contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        return (keys, warning)
    }

    /// The API keys given on the command line (else comma-separated in `commaSeparated`) and in `file`,
    /// checked (``validateAPIKeys()``); `warning` says when other users can read the file.
    public static func apiKeys(listed: [String], commaSeparated: String?, file: String?) throws(ServerSetupError)
        -> (keys: [String], warning: String?)
    {
        var configuration = ServerConfiguration()
        configuration.apiKeys = listed.isEmpty ? (commaSeparated ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : listed
        var warning: String?
        if let file {
            let read = try apiKeys(fromFile: file)
            configuration.apiKeys += read.keys
            warning = read.warning
        }
        configuration.apiKeys = configuration.apiKeys.filter { !$0.isEmpty }
        try configuration.validateAPIKeys()
        return (configuration.apiKeys, warning)
    }

    /// Checks the API keys: each at least ``minimumAPIKeyLength`` characters.
    public func validateAPIKeys() throws(ServerSetupError) {
        if let short = apiKeys.first(where: { $0.utf8.count < Self.minimumAPIKeyLength }) {
            throw ServerSetupError("API key '\(short.prefix(3))…' is shorter than \(Self.minimumAPIKeyLength) characters; use long random keys")
        }
    }

    /// The shortest API key accepted.
    public static let minimumAPIKeyLength = 16
}

/// A server setting that cannot be used (an unreadable key file, a short key).
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Notes when graceful shutdown began (SIGTERM or SIGINT), to tell a drain that finished from one that was
/// cut at the drain timeout; and shortly before that timeout (at 80 % of it, at most 2 s before) calls
/// `beforeTimeout`, which answers the requests still queued 503 `shutting_down` while their connections are
/// open, rather than leaving them to the bare close at the timeout.
public final class ShutdownClock: Service, Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    private let drainTimeout: Duration
    private let beforeTimeout: @Sendable () -> Void
    private let timer = Mutex<Task<Void, Never>?>(nil)

    public init(drainTimeout: Duration, beforeTimeout: @escaping @Sendable () -> Void) {
        self.drainTimeout = drainTimeout
        self.beforeTimeout = beforeTimeout
    }

    deinit { timer.withLock { $0?.cancel() } }

    public var began: ContinuousClock.Instant? { instant.withLock { $0 } }

    public func run() async throws {
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
    public func cancel() { timer.withLock { $0?.cancel() } }
}

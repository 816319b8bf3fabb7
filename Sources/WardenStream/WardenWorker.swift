import AMQPClient
import Foundation
import Logging
import NATSClient
import ServiceLifecycle
import UnixSignals
import WardenCore
import WardenGateway
import WardenPolicies

/// What `warden worker` serves on a NATS connection: core-NATS requests on a subject, a JetStream stream, or
/// both, with the same limits as an HTTP request.
public struct WorkerConfiguration: Sendable {
    /// The NATS server the worker connects to when none is given.
    public static let defaultServer = "nats://127.0.0.1:4222"
    /// Subject of core-NATS moderation requests; empty: no request/reply service.
    public var checkSubject = "moderation.check"
    /// The queue group of ``checkSubject``, so that each request reaches one worker.
    public var queueGroup = "warden"
    /// The version the NATS micro discovery subjects report.
    public var version = "1.0.0"
    /// The stream to moderate; nil: only ``checkSubject`` is served.
    public var stream: StreamWorkerSettings?
    /// What one message or request may hold.
    public var limits = RequestLimits()
    /// The address of the HTTP probes and metrics beside the worker, when they are served: every address, so
    /// that probes from outside the pod reach them.
    public var metricsHost = "0.0.0.0"
    /// The named policies requests may choose (`"policy"`); nil: none configured.
    public var policies: PolicyStore?
    /// A candidate model offered a sample of the requests and stream messages answered; nil: none. Pass it
    /// among the services too, so that it runs (and stops after the consumers).
    public var shadow: ShadowScorer?

    /// The defaults described on each property.
    public init() {}
}

/// `warden worker` without the command line: the engine, the request/reply service and the stream consumer
/// over one NATS connection, in one service group.
public enum WardenWorker {
    /// Connects to NATS with `options` and runs `engine`, then what `configuration` serves on the connection,
    /// with `services` beside them (the HTTP
    /// probes, memory release), until SIGTERM or SIGINT, or until the stream consumer ends. `onReady` is called
    /// once the model is warm, the check subject is subscribed on the server and the stream's consumer is bound:
    /// from then on a request or a stream message is answered. The connection is drained at the end.
    ///
    /// - Throws: ``WorkerError`` when NATS cannot be reached, the stream is missing or a service stopped.
    public static func run(
        configuration: WorkerConfiguration, engine: ModerationEngine, nats options: NATSOptions,
        services: [any Service] = [], logger: Logger, onReady: @escaping @Sendable () -> Void
    ) async throws(WorkerError) {
        guard configuration.stream != nil || !configuration.checkSubject.isEmpty else {
            throw WorkerError("nothing to do: give a stream, or a non-empty check subject")
        }
        let connection: NATSConnection
        do {
            connection = try await NATSConnection.connect(options)
        } catch {
            throw WorkerError("\(error)")
        }
        var group: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: engine)] + services.map { .init(service: $0) }
        var gates: [AsyncStream<Void>] = []
        func gate() -> AsyncStream<Void>.Continuation {
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            gates.append(stream)
            return continuation
        }
        if !configuration.checkSubject.isEmpty {
            let listening = gate()
            group.append(
                .init(
                    service: CheckService(
                        engine: engine, connection: connection, subject: configuration.checkSubject,
                        queueGroup: configuration.queueGroup, version: configuration.version,
                        limits: configuration.limits, policies: configuration.policies, shadow: configuration.shadow, logger: logger,
                        onListening: { listening.finish() })))
        }
        if var settings = configuration.stream {
            settings.limits = configuration.limits
            settings.policies = configuration.policies
            settings.shadow = configuration.shadow
            let bound = gate()
            let worker = StreamWorker(
                engine: engine, jetStream: JetStream(connection: connection), settings: settings, logger: logger,
                onBound: { _ in bound.finish() })
            group.append(.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        group.append(.init(service: ReadyGate(engine: engine, gates: gates, onReady: onReady)))
        do {
            try await runGroup(group, logger: logger)
        } catch let error as JetStreamError where error.errorCode == JetStreamError.streamNotFound {
            connection.close()
            throw WorkerError(
                "stream '\(configuration.stream?.stream ?? "")' not found on \(connection.options.servers.joined(separator: ",")); create it first")
        } catch {
            connection.close()
            throw WorkerError("stopped: \(error)")
        }
        try? await connection.drain()
    }

    /// Runs `engine` and an ``AMQPWorker`` consuming `settings.queue`, with `services` beside them, until
    /// SIGTERM or SIGINT, or until the consumer ends. `onReady` is called once the model is warm and the queue
    /// is consumed. The worker connects, and reconnects after a lost broker, on its own.
    ///
    /// - Throws: ``WorkerError`` when a service stopped.
    public static func run(
        amqp settings: AMQPWorkerSettings, engine: ModerationEngine, services: [any Service] = [], logger: Logger,
        onReady: @escaping @Sendable () -> Void
    ) async throws(WorkerError) {
        let (consuming, started) = AsyncStream<Void>.makeStream()
        let worker = AMQPWorker(engine: engine, settings: settings, logger: logger, onConsuming: { started.finish() })
        var group: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: engine)] + services.map { .init(service: $0) }
        group.append(.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup))
        group.append(.init(service: ReadyGate(engine: engine, gates: [consuming], onReady: onReady)))
        do {
            try await runGroup(group, logger: logger)
        } catch {
            throw WorkerError("stopped: \(error)")
        }
    }

    /// Runs `services` until SIGTERM or SIGINT, or until one ends the group.
    private static func runGroup(_ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger) async throws {
        try await ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }

    /// The line printed once the AMQP worker is ready.
    public static func readyLine(amqp settings: AMQPWorkerSettings) -> String {
        "Warden worker is ready: queue \(settings.queue) on \(settings.connection.redactedURL) (pid \(getpid()))"
    }

    /// The line printed once the worker is ready.
    public static func readyLine(configuration: WorkerConfiguration) -> String {
        var parts: [String] = []
        if let stream = configuration.stream { parts.append("stream \(stream.stream)") }
        if !configuration.checkSubject.isEmpty { parts.append("requests on \(configuration.checkSubject)") }
        return "Warden worker is ready: \(parts.joined(separator: ", ")) (pid \(getpid()))"
    }
}

/// A worker that could not run or stopped; the description is one line for the user.
public struct WorkerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Calls `onReady` once the engine is warm and every gate has finished, then waits for shutdown.
private struct ReadyGate: Service {
    let engine: ModerationEngine
    let gates: [AsyncStream<Void>]
    let onReady: @Sendable () -> Void

    func run() async throws {
        _ = try await engine.ready()
        for gate in gates { for await _ in gate {} }
        guard !Task.isCancelled else { return }
        onReady()
        try? await gracefulShutdown()
    }
}

import AMQPClient
import ArgumentParser
import Foundation
import Logging
import NATSClient
import ServiceLifecycle
import TorchBackend
import WardenCore
import WardenServer
import WardenStream
import WardenGateway

/// `warden worker`: moderates a NATS JetStream stream and answers core-NATS requests, or with `--amqp-url`
/// moderates a RabbitMQ queue, with the same engine as `serve` and `score`.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Moderate a NATS JetStream stream (a durable pull consumer shared by every worker) and answer requests on a NATS subject, or a RabbitMQ queue (--amqp-url).",
        discussion: """
            Each message holds a /v1/moderations request body ({"input": ...}); its verdict, the response or \
            error body of that API, is published to --results-subject with Nats-Msg-Id <stream>-<sequence> \
            (a stream must store that subject), and the message is acked only once JetStream has acked the \
            verdict. A message the engine cannot take now is naked with a delay; a poison message (invalid \
            UTF-8 or JSON, empty, over a limit) gets an error verdict and is terminated. Requests on \
            --check-subject (a queue group) are answered directly; the NATS micro discovery subjects \
            ($SRV.PING, $SRV.INFO, $SRV.STATS) are answered too.

            With --amqp-url the worker consumes a RabbitMQ queue instead (declared durable, quorum by default): \
            each verdict is published to --amqp-results-exchange with --amqp-results-routing-key under publisher \
            confirms, or to the message's reply_to with its correlation_id, and carries the message's message_id \
            (or a stable hash of it); the message is acked once the broker has confirmed the verdict. A message \
            the engine cannot take now is requeued after --amqp-retry-delay; a poison message gets an error \
            verdict and is rejected to the queue's dead-letter exchange. A lost broker is reconnected with \
            jittered backoff.

            Every option falls back to a WARDEN_* environment variable, then to a default. SIGTERM or SIGINT \
            stops pulling (or cancels the AMQP consumer), finishes and acks every message already fetched, then \
            exits 0.
            """)

    @Option(help: "NATS server URL(s), comma-separated: nats://host:port or tls://host:port (env WARDEN_NATS_URL; default \(Self.defaultURL)).")
    var natsUrl: String?

    @Option(help: "NATS token (env WARDEN_NATS_TOKEN). On the command line it is visible in the process list: prefer the variable.")
    var natsToken: String?

    @Option(help: "NATS user (env WARDEN_NATS_USER).")
    var natsUser: String?

    @Option(help: "NATS password (env WARDEN_NATS_PASSWORD).")
    var natsPassword: String?

    @Option(help: "NATS credentials file: user JWT and NKey seed, as nsc writes them (env WARDEN_NATS_CREDS).")
    var natsCreds: String?

    @Option(help: "NATS NKey seed file, for a user known by its NKey alone (env WARDEN_NATS_NKEY).")
    var natsNkey: String?

    @Option(help: "JetStream stream to moderate (env WARDEN_NATS_STREAM). Without it, only --check-subject is served.")
    var stream: String?

    @Option(help: "Durable pull consumer shared by the workers, created when missing (env WARDEN_NATS_CONSUMER; default \(Self.defaultConsumer)).")
    var consumer: String?

    @Option(help: "Only the stream's messages on this subject, when the worker creates the consumer (env WARDEN_NATS_FILTER_SUBJECT; none: the whole stream).")
    var filterSubject: String?

    @Option(help: "Subject of each verdict; {subject} is the source message's subject, {stream} the stream (env WARDEN_NATS_RESULTS_SUBJECT; default \(StreamWorkerSettings(stream: "", consumer: "").resultsSubject)).")
    var resultsSubject: String?

    @Option(help: "Lane of stream messages that name none: interactive or bulk (env WARDEN_NATS_LANE; default bulk).")
    var lane: String?

    @Option(help: "AckWait of the consumer the worker creates, seconds (env WARDEN_NATS_ACK_WAIT; default \(Int(StreamWorkerSettings(stream: "", consumer: "").ackWait.seconds))).")
    var ackWait: Double?

    @Option(help: "MaxAckPending of the consumer the worker creates, over all workers (env WARDEN_NATS_MAX_ACK_PENDING; default \(StreamWorkerSettings(stream: "", consumer: "").maxAckPending)).")
    var maxAckPending: Int?

    @Option(help: "Messages per pull (env WARDEN_NATS_FETCH_BATCH; default --max-batch-size x --workers).")
    var fetchBatch: Int?

    @Option(help: "Most messages this worker holds, fetched and not yet acked (env WARDEN_NATS_MAX_IN_FLIGHT; default 2 x --fetch-batch).")
    var maxInFlight: Int?

    @Option(help: "Subject of core-NATS moderation requests; empty turns it off (env WARDEN_NATS_CHECK_SUBJECT; default \(Self.defaultCheckSubject)).")
    var checkSubject: String?

    @Option(help: "Queue group of --check-subject (env WARDEN_NATS_QUEUE_GROUP; default \(Self.defaultQueueGroup)).")
    var queueGroup: String?

    @Option(help: "RabbitMQ broker: amqp://user:password@host:port/vhost, or amqps:// for TLS (env WARDEN_AMQP_URL). With it the worker consumes an AMQP queue, not NATS; prefer the variable, flags show in the process list.")
    var amqpUrl: String?

    @Option(help: "AMQP queue of requests, declared durable when missing (env WARDEN_AMQP_QUEUE; default \(Self.amqpDefaults.queue)).")
    var amqpQueue: String?

    @Option(help: "Type of the AMQP queue when declared: quorum or classic (env WARDEN_AMQP_QUEUE_TYPE; default \(Self.amqpDefaults.queueType)).")
    var amqpQueueType: String?

    @Option(help: "Dead-letter exchange of the AMQP queue when declared: where poison goes after its error verdict (env WARDEN_AMQP_DEAD_LETTER_EXCHANGE; none: poison is dropped).")
    var amqpDeadLetterExchange: String?

    @Option(help: "Dead-letter routing key of the AMQP queue when declared (env WARDEN_AMQP_DEAD_LETTER_ROUTING_KEY; none: the message's own).")
    var amqpDeadLetterRoutingKey: String?

    @Option(help: "Exchange of the AMQP verdicts, declared (topic, durable) when named (env WARDEN_AMQP_RESULTS_EXCHANGE; empty: the default exchange, routing by queue name).")
    var amqpResultsExchange: String?

    @Option(help: "Routing key of the AMQP verdicts; {routing_key} is the request's (env WARDEN_AMQP_RESULTS_ROUTING_KEY; default \(Self.amqpDefaults.resultsRoutingKey)).")
    var amqpResultsRoutingKey: String?

    @Option(help: "Queue declared to hold the AMQP verdicts, bound to a named results exchange; empty declares none (env WARDEN_AMQP_RESULTS_QUEUE; default \(Self.amqpDefaults.resultsQueue ?? "")).")
    var amqpResultsQueue: String?

    @Option(help: "Most unacked AMQP messages this worker holds, basic.qos (env WARDEN_AMQP_PREFETCH; default 2 x --max-batch-size x --workers).")
    var amqpPrefetch: Int?

    @Option(help: "Seconds an AMQP message the engine cannot take now is held before it is requeued (env WARDEN_AMQP_RETRY_DELAY; default \(Int(Self.amqpDefaults.retryDelay.components.seconds))).")
    var amqpRetryDelay: Double?

    @Option(help: "Largest message body in bytes; a larger one is poison (env WARDEN_MAX_BODY_BYTES; default \(RequestLimits().maxBodyBytes)).")
    var maxBodyBytes: Int?

    @Option(help: "Most texts per message or request (env WARDEN_MAX_INPUTS; default \(RequestLimits().maxInputs)).")
    var maxInputs: Int?

    @Option(help: "Port of /healthz, /readyz and /metrics (Prometheus) over HTTP (env WARDEN_METRICS_PORT; none: no HTTP at all).")
    var metricsPort: Int?

    @Option(help: "Address of --metrics-port (env WARDEN_METRICS_HOST; default 0.0.0.0, so that probes reach it in a pod).")
    var metricsHost: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env WARDEN_LOG_LEVEL; default info).")
    var logLevel: String?

    @OptionGroup(title: "Model and threads") var model: ModelOptions
    @OptionGroup(title: "Batching") var batching: BatchingOptions

    static let defaultURL = "nats://127.0.0.1:4222"
    static let defaultConsumer = "warden"
    static let defaultCheckSubject = "moderation.check"
    static let defaultQueueGroup = "warden"
    static let amqpDefaults = AMQPWorkerSettings(connection: AMQPConfiguration())

    func run() async throws {
        let level = try resolveLogLevel(logLevel)
        bootstrapLogging(level: level)
        var logger = Logger(label: "warden.worker")
        logger.logLevel = level

        let amqpURL = Setting.resolve(amqpUrl, env: "WARDEN_AMQP_URL")
        let streamName = Setting.resolve(stream, env: "WARDEN_NATS_STREAM")
        let check = amqpURL != nil ? "" : Setting.resolve(checkSubject, env: "WARDEN_NATS_CHECK_SUBJECT")
            ?? (Setting.environment["WARDEN_NATS_CHECK_SUBJECT"] == nil ? Self.defaultCheckSubject : "")
        if amqpURL != nil, streamName != nil {
            throw ValidationError("--amqp-url and --stream are two workers: run one process for each")
        }
        guard amqpURL != nil || streamName != nil || !check.isEmpty else {
            throw ValidationError("nothing to do: give --stream, or a non-empty --check-subject")
        }
        let amqpSettings = try amqpURL.map { try amqpWorkerSettings(url: $0, logger: logger) }

        let probePort = try Setting.resolve(metricsPort, env: "WARDEN_METRICS_PORT", default: -1)
        guard probePort == -1 || (0...65535).contains(probePort) else { throw ValidationError("--metrics-port must be between 0 and 65535") }
        // The Prometheus factory is bootstrapped before the engine makes its metrics.
        if probePort >= 0 { _ = WardenMetrics.registry }

        let workers = try model.resolvedWorkers()
        let engineConfiguration = try batching.configuration(workers: workers)
        let factory = try model.backendFactory(logger: logger)
        TorchRuntime.log(factory.runtime, to: logger)
        let engine: ModerationEngine
        do {
            engine = try ModerationEngine(modelDirectory: model.resolvedModelDirectory(), configuration: engineConfiguration,
                                          backends: factory, logger: logger)
        } catch {
            throw CommandFailure("cannot start: \(error)")
        }
        var limits = RequestLimits()
        limits.maxBodyBytes = try Setting.resolve(maxBodyBytes, env: "WARDEN_MAX_BODY_BYTES", default: limits.maxBodyBytes)
        limits.maxInputs = try Setting.resolve(maxInputs, env: "WARDEN_MAX_INPUTS", default: limits.maxInputs)

        if var amqpSettings {
            amqpSettings.limits = limits
            amqpSettings.prefetch = try Setting.resolve(amqpPrefetch, env: "WARDEN_AMQP_PREFETCH",
                                                        default: 2 * engineConfiguration.batching.maxBatchSize * workers)
            guard (1...65535).contains(amqpSettings.prefetch) else { throw ValidationError("--amqp-prefetch must be between 1 and 65535") }
            try await runAMQP(amqpSettings, engine: engine, probePort: probePort, logger: logger)
            return
        }
        let options = try natsOptions(logger: logger)
        let connection: NATSConnection
        do {
            connection = try await NATSConnection.connect(options)
        } catch {
            throw CommandFailure("\(error)")
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: engine)]
        if probePort >= 0 {
            services.append(.init(service: buildProbeApplication(host: Setting.resolve(metricsHost, env: "WARDEN_METRICS_HOST") ?? "0.0.0.0",
                                                                 port: probePort, engine: engine, logger: logger)))
        }
        // The ready line waits for the model and for a gate per service: the check subject subscribed on the
        // server, the stream's consumer bound. Once it is printed, a request or a stream message is answered.
        var gates: [AsyncStream<Void>] = []
        func gate() -> AsyncStream<Void>.Continuation {
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            gates.append(stream)
            return continuation
        }
        if !check.isEmpty {
            let listening = gate()
            let queue = Setting.resolve(queueGroup, env: "WARDEN_NATS_QUEUE_GROUP") ?? Self.defaultQueueGroup
            services.append(.init(service: CheckService(engine: engine, connection: connection, subject: check, queueGroup: queue,
                                                        version: "1.0.0", limits: limits, logger: logger,
                                                        onListening: { listening.finish() })))
        }
        if let streamName {
            var settings = StreamWorkerSettings(stream: streamName, consumer: Setting.resolve(consumer, env: "WARDEN_NATS_CONSUMER") ?? Self.defaultConsumer)
            settings.filterSubject = Setting.resolve(filterSubject, env: "WARDEN_NATS_FILTER_SUBJECT")
            settings.resultsSubject = Setting.resolve(resultsSubject, env: "WARDEN_NATS_RESULTS_SUBJECT") ?? settings.resultsSubject
            let laneName = Setting.resolve(lane, env: "WARDEN_NATS_LANE") ?? "bulk"
            guard let chosen = Lane(rawValue: laneName) else { throw ValidationError("--lane must be interactive or bulk (got '\(laneName)')") }
            settings.lane = chosen
            settings.ackWait = try Setting.resolveSeconds(ackWait, env: "WARDEN_NATS_ACK_WAIT", default: settings.ackWait, flagName: "--ack-wait")
            settings.maxAckPending = try Setting.resolve(maxAckPending, env: "WARDEN_NATS_MAX_ACK_PENDING", default: settings.maxAckPending)
            settings.fetchBatch = try Setting.resolve(fetchBatch, env: "WARDEN_NATS_FETCH_BATCH", default: engineConfiguration.batching.maxBatchSize * workers)
            settings.maxInFlight = try Setting.resolve(maxInFlight, env: "WARDEN_NATS_MAX_IN_FLIGHT", default: 2 * settings.fetchBatch)
            settings.limits = limits
            guard settings.fetchBatch >= 1, settings.maxInFlight >= settings.fetchBatch, settings.maxAckPending >= 1 else {
                throw ValidationError("--fetch-batch and --max-ack-pending must be at least 1, and --max-in-flight at least --fetch-batch")
            }
            let bound = gate()
            let worker = StreamWorker(engine: engine, jetStream: JetStream(connection: connection), settings: settings, logger: logger,
                                      onBound: { _ in bound.finish() })
            services.append(.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(.init(service: MemoryReleaseService(engine: engine)))
        var parts: [String] = []
        if let streamName { parts.append("stream \(streamName)") }
        if !check.isEmpty { parts.append("requests on \(check)") }
        services.append(.init(service: ReadyLine(engine: engine, gates: gates, what: parts.joined(separator: ", "))))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as JetStreamError where error.errorCode == JetStreamError.streamNotFound {
            connection.close()
            throw CommandFailure("stream '\(streamName ?? "")' not found on \(options.servers.joined(separator: ",")); create it first")
        } catch {
            connection.close()
            throw CommandFailure("stopped: \(error)")
        }
        try? await connection.drain()
    }

    /// The RabbitMQ side from the flags and their `WARDEN_AMQP_*` variables (prefetch and limits come later,
    /// from the engine's configuration).
    func amqpWorkerSettings(url: String, logger: Logger) throws -> AMQPWorkerSettings {
        var configuration: AMQPConfiguration
        do {
            configuration = try AMQPConfiguration(url: url, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.connectionName = "warden-worker@\(ProcessInfo.processInfo.hostName)"
        var settings = AMQPWorkerSettings(connection: configuration)
        settings.queue = Setting.resolve(amqpQueue, env: "WARDEN_AMQP_QUEUE") ?? settings.queue
        settings.queueType = Setting.resolve(amqpQueueType, env: "WARDEN_AMQP_QUEUE_TYPE") ?? settings.queueType
        guard ["quorum", "classic"].contains(settings.queueType) else {
            throw ValidationError("--amqp-queue-type must be quorum or classic (got '\(settings.queueType)')")
        }
        settings.deadLetterExchange = Setting.resolve(amqpDeadLetterExchange, env: "WARDEN_AMQP_DEAD_LETTER_EXCHANGE")
        settings.deadLetterRoutingKey = Setting.resolve(amqpDeadLetterRoutingKey, env: "WARDEN_AMQP_DEAD_LETTER_ROUTING_KEY")
        settings.resultsExchange = amqpResultsExchange ?? Setting.environment["WARDEN_AMQP_RESULTS_EXCHANGE"] ?? settings.resultsExchange
        settings.resultsRoutingKey = Setting.resolve(amqpResultsRoutingKey, env: "WARDEN_AMQP_RESULTS_ROUTING_KEY") ?? settings.resultsRoutingKey
        let resultsQueue = amqpResultsQueue ?? Setting.environment["WARDEN_AMQP_RESULTS_QUEUE"] ?? settings.resultsQueue ?? ""
        settings.resultsQueue = resultsQueue.isEmpty ? nil : resultsQueue
        settings.retryDelay = try Setting.resolveSeconds(amqpRetryDelay, env: "WARDEN_AMQP_RETRY_DELAY", default: settings.retryDelay,
                                                         flagName: "--amqp-retry-delay")
        let laneName = Setting.resolve(lane, env: "WARDEN_NATS_LANE") ?? "bulk"
        guard let chosen = Lane(rawValue: laneName) else { throw ValidationError("--lane must be interactive or bulk (got '\(laneName)')") }
        settings.lane = chosen
        return settings
    }

    /// The RabbitMQ worker: the engine, the probes, the consumer; the ready line once it consumes.
    func runAMQP(_ settings: AMQPWorkerSettings, engine: ModerationEngine, probePort: Int, logger: Logger) async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: engine)]
        if probePort >= 0 {
            services.append(.init(service: buildProbeApplication(host: Setting.resolve(metricsHost, env: "WARDEN_METRICS_HOST") ?? "0.0.0.0",
                                                                 port: probePort, engine: engine, logger: logger)))
        }
        let (consuming, started) = AsyncStream<Void>.makeStream()
        let worker = AMQPWorker(engine: engine, settings: settings, logger: logger, onConsuming: { started.finish() })
        services.append(.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: MemoryReleaseService(engine: engine)))
        services.append(.init(service: ReadyLine(engine: engine, gates: [consuming],
                                                 what: "queue \(settings.queue) on \(settings.connection.redactedURL)")))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            throw CommandFailure("stopped: \(error)")
        }
    }

    /// Server URLs and credentials from the flags and their `WARDEN_NATS_*` variables.
    func natsOptions(logger: Logger) throws -> NATSOptions {
        let urls = (Setting.resolve(natsUrl, env: "WARDEN_NATS_URL") ?? Self.defaultURL)
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let token = Setting.resolve(natsToken, env: "WARDEN_NATS_TOKEN")
        let user = Setting.resolve(natsUser, env: "WARDEN_NATS_USER")
        let password = Setting.resolve(natsPassword, env: "WARDEN_NATS_PASSWORD")
        let creds = Setting.resolve(natsCreds, env: "WARDEN_NATS_CREDS")
        let nkey = Setting.resolve(natsNkey, env: "WARDEN_NATS_NKEY")
        let given = [token != nil, user != nil || password != nil, creds != nil, nkey != nil].filter { $0 }.count
        guard given <= 1 else { throw ValidationError("give one of --nats-token, --nats-user/--nats-password, --nats-creds, --nats-nkey") }
        var auth = NATSAuth.none
        if let token { auth = .token(token) }
        if user != nil || password != nil {
            guard let user, let password else { throw ValidationError("--nats-user and --nats-password go together") }
            auth = .userPassword(user: user, password: password)
        }
        if let creds { auth = .credentials(path: creds) }
        if let nkey {
            guard let seed = try? String(contentsOfFile: nkey, encoding: .utf8) else { throw ValidationError("cannot read the NKey seed file \(nkey)") }
            auth = .nkey(seed: seed.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let host = ProcessInfo.processInfo.hostName
        return NATSOptions(servers: urls, auth: auth, name: "warden-worker@\(host)", logger: logger)
    }
}

/// Prints the ready line once the model is warm and every gate has finished (tests and scripts wait for it).
private struct ReadyLine: Service {
    let engine: ModerationEngine
    let gates: [AsyncStream<Void>]
    /// What the worker serves, for the line.
    let what: String

    func run() async throws {
        _ = try await engine.ready()
        for gate in gates { for await _ in gate {} }
        guard !Task.isCancelled else { return }
        print("Warden worker is ready: \(what) (pid \(getpid()))")
        fflush(nil)
        try? await gracefulShutdown()
    }
}

import AMQPClient
import ArgumentParser
import Foundation
import Logging
import NATSClient
import ServiceLifecycle
import TorchBackend
import WardenCore
import WardenGateway
import WardenServer
import WardenStream

/// `warden worker`: moderates a NATS JetStream stream and answers core-NATS requests, or with `--amqp-url`
/// moderates a RabbitMQ queue, with the same engine as `serve` and `score`.
struct WorkerCommand: AsyncParsableCommand, RunsModel {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: WorkerHelp.abstract, discussion: WorkerHelp.discussion)

    @Option(help: ArgumentHelp(WorkerHelp.natsUrl)) var natsUrl: String?
    @Option(help: ArgumentHelp(WorkerHelp.natsToken)) var natsToken: String?
    @Option(help: ArgumentHelp(WorkerHelp.natsUser)) var natsUser: String?
    @Option(help: ArgumentHelp(WorkerHelp.natsPassword)) var natsPassword: String?
    @Option(help: ArgumentHelp(WorkerHelp.natsCreds)) var natsCreds: String?
    @Option(help: ArgumentHelp(WorkerHelp.natsNkey)) var natsNkey: String?
    @Option(help: ArgumentHelp(WorkerHelp.stream)) var stream: String?
    @Option(help: ArgumentHelp(WorkerHelp.consumer)) var consumer: String?
    @Option(help: ArgumentHelp(WorkerHelp.filterSubject)) var filterSubject: String?
    @Option(help: ArgumentHelp(WorkerHelp.resultsSubject)) var resultsSubject: String?
    @Option(help: ArgumentHelp(WorkerHelp.lane)) var lane: String?
    @Option(help: ArgumentHelp(WorkerHelp.ackWait)) var ackWait: Double?
    @Option(help: ArgumentHelp(WorkerHelp.maxAckPending)) var maxAckPending: Int?
    @Option(help: ArgumentHelp(WorkerHelp.fetchBatch)) var fetchBatch: Int?
    @Option(help: ArgumentHelp(WorkerHelp.maxInFlight)) var maxInFlight: Int?
    @Option(help: ArgumentHelp(WorkerHelp.checkSubject)) var checkSubject: String?
    @Option(help: ArgumentHelp(WorkerHelp.queueGroup)) var queueGroup: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpUrl)) var amqpUrl: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpQueue)) var amqpQueue: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpQueueType)) var amqpQueueType: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpDeadLetterExchange)) var amqpDeadLetterExchange: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpDeadLetterRoutingKey)) var amqpDeadLetterRoutingKey: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpResultsExchange)) var amqpResultsExchange: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpResultsRoutingKey)) var amqpResultsRoutingKey: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpResultsQueue)) var amqpResultsQueue: String?
    @Option(help: ArgumentHelp(WorkerHelp.amqpPrefetch)) var amqpPrefetch: Int?
    @Option(help: ArgumentHelp(WorkerHelp.amqpRetryDelay)) var amqpRetryDelay: Double?
    @Option(help: ArgumentHelp(WorkerHelp.maxBodyBytes)) var maxBodyBytes: Int?
    @Option(help: ArgumentHelp(WorkerHelp.maxInputs)) var maxInputs: Int?
    @Option(help: ArgumentHelp(WorkerHelp.metricsPort)) var metricsPort: Int?
    @Option(help: ArgumentHelp(WorkerHelp.metricsHost)) var metricsHost: String?
    @Option(help: ArgumentHelp(WorkerHelp.policies)) var policies: String?

    @OptionGroup var engine: EngineOptions
    @OptionGroup var shadow: ShadowOptions

    func run() async throws {
        let logger = try engine.startLogging(label: "warden.worker")
        let amqp = try amqpWorkerSettings(logger: logger)
        let nats = try amqp == nil ? (options: natsOptions(logger: logger), configuration: workerConfiguration()) : nil
        let probePort = try Setting.resolve(metricsPort, env: "WARDEN_METRICS_PORT", default: -1)
        guard probePort == -1 || (0...65535).contains(probePort) else { throw ValidationError("--metrics-port must be between 0 and 65535") }
        // The Prometheus factory is bootstrapped before the engine makes its metrics.
        if probePort >= 0 { _ = WardenMetrics.registry }
        let engine = try engine.makeEngine(logger: logger)
        let policyStore = try PolicyOption.store(policies, bundle: engine.bundle, logger: logger)
        let shadowScorer = try shadow.makeShadow(comparingWith: engine, engine: self.engine, logger: logger)
        var services: [any Service] = [
            MemoryReleaseService(engine: engine),
            HangupReloader(engine: engine, policies: policyStore, logger: logger),
        ]
        // Stopped after the consumers (services stop in reverse order), so no sample comes after it.
        if let shadowScorer { services.append(shadowScorer) }
        if probePort >= 0 {
            services.append(
                buildProbeApplication(
                    host: Setting.resolve(metricsHost, env: "WARDEN_METRICS_HOST") ?? WorkerConfiguration().metricsHost,
                    port: probePort, engine: engine, logger: logger))
        }
        do {
            if let amqp {
                var configured = amqp
                configured.policies = policyStore
                configured.shadow = shadowScorer
                let settings = configured
                try await WardenWorker.run(amqp: settings, engine: engine, services: services, logger: logger) {
                    Self.announce(WardenWorker.readyLine(amqp: settings))
                }
            } else if let nats {
                var configuration = nats.configuration
                configuration.policies = policyStore
                configuration.shadow = shadowScorer
                try await WardenWorker.run(
                    configuration: configuration, engine: engine, nats: nats.options, services: services, logger: logger
                ) { Self.announce(WardenWorker.readyLine(configuration: nats.configuration)) }
            }
        } catch {
            throw CommandFailure(error.description)
        }
    }

    /// Prints the ready line that scripts and tests wait for.
    static func announce(_ line: String) {
        print(line)
        fflush(nil)
    }

    /// What one message or request may hold, from the flags and their variables.
    func requestLimits() throws -> RequestLimits {
        var limits = WorkerConfiguration().limits
        try Setting.override(&limits.maxBodyBytes, with: maxBodyBytes, env: "WARDEN_MAX_BODY_BYTES")
        try Setting.override(&limits.maxInputs, with: maxInputs, env: "WARDEN_MAX_INPUTS")
        return limits
    }

    /// The lane of messages that name none, from `--lane` or `WARDEN_NATS_LANE`.
    func resolvedLane(default fallback: Lane) throws -> Lane {
        let laneName = Setting.resolve(lane, env: "WARDEN_NATS_LANE") ?? fallback.rawValue
        guard let chosen = Lane(rawValue: laneName) else { throw ValidationError("--lane must be interactive or bulk (got '\(laneName)')") }
        return chosen
    }

    /// What to serve, from the flags and their `WARDEN_NATS_*` variables.
    func workerConfiguration() throws -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        // An empty WARDEN_NATS_CHECK_SUBJECT turns the request service off, as an empty flag does.
        configuration.checkSubject = checkSubject ?? Setting.environment["WARDEN_NATS_CHECK_SUBJECT"] ?? configuration.checkSubject
        configuration.queueGroup = Setting.resolve(queueGroup, env: "WARDEN_NATS_QUEUE_GROUP") ?? configuration.queueGroup
        configuration.limits = try requestLimits()
        guard let streamName = Setting.resolve(stream, env: "WARDEN_NATS_STREAM") else {
            guard !configuration.checkSubject.isEmpty else { throw ValidationError("nothing to do: give --stream, or a non-empty --check-subject") }
            return configuration
        }
        var settings = StreamWorkerSettings(
            stream: streamName, consumer: Setting.resolve(consumer, env: "WARDEN_NATS_CONSUMER") ?? StreamWorkerSettings.defaultConsumer)
        settings.filterSubject = Setting.resolve(filterSubject, env: "WARDEN_NATS_FILTER_SUBJECT")
        settings.resultsSubject = Setting.resolve(resultsSubject, env: "WARDEN_NATS_RESULTS_SUBJECT") ?? settings.resultsSubject
        settings.lane = try resolvedLane(default: settings.lane)
        settings.ackWait = try Setting.resolveSeconds(ackWait, env: "WARDEN_NATS_ACK_WAIT", default: settings.ackWait, flagName: "--ack-wait")
        try Setting.override(&settings.maxAckPending, with: maxAckPending, env: "WARDEN_NATS_MAX_ACK_PENDING")
        let engineConfiguration = try engine.configuration()
        settings.fetchBatch = try Setting.resolve(
            fetchBatch, env: "WARDEN_NATS_FETCH_BATCH",
            default: engineConfiguration.batching.maxBatchSize * engineConfiguration.workers)
        settings.maxInFlight = try Setting.resolve(maxInFlight, env: "WARDEN_NATS_MAX_IN_FLIGHT", default: 2 * settings.fetchBatch)
        guard settings.fetchBatch >= 1, settings.maxInFlight >= settings.fetchBatch, settings.maxAckPending >= 1 else {
            throw ValidationError("--fetch-batch and --max-ack-pending must be at least 1, and --max-in-flight at least --fetch-batch")
        }
        configuration.stream = settings
        return configuration
    }

    /// The RabbitMQ worker's settings from `--amqp-url` and the `WARDEN_AMQP_*` variables; nil without a URL.
    func amqpWorkerSettings(logger: Logger) throws -> AMQPWorkerSettings? {
        guard let url = Setting.resolve(amqpUrl, env: "WARDEN_AMQP_URL") else { return nil }
        guard Setting.resolve(stream, env: "WARDEN_NATS_STREAM") == nil else {
            throw ValidationError("--amqp-url and --stream are two workers: run one process for each")
        }
        var settings: AMQPWorkerSettings
        do {
            settings = AMQPWorkerSettings(connection: try AMQPConfiguration(url: url, logger: logger))
        } catch {
            throw ValidationError("\(error)")
        }
        settings.connection.connectionName = "warden-worker@\(ProcessInfo.processInfo.hostName)"
        settings.queue = Setting.resolve(amqpQueue, env: "WARDEN_AMQP_QUEUE") ?? settings.queue
        settings.queueType = Setting.resolve(amqpQueueType, env: "WARDEN_AMQP_QUEUE_TYPE") ?? settings.queueType
        guard AMQPWorkerSettings.queueTypes.contains(settings.queueType) else {
            throw ValidationError("--amqp-queue-type must be quorum or classic (got '\(settings.queueType)')")
        }
        settings.deadLetterExchange = Setting.resolve(amqpDeadLetterExchange, env: "WARDEN_AMQP_DEAD_LETTER_EXCHANGE")
        settings.deadLetterRoutingKey = Setting.resolve(amqpDeadLetterRoutingKey, env: "WARDEN_AMQP_DEAD_LETTER_ROUTING_KEY")
        // An empty exchange or results queue is a choice (the default exchange, no queue), so empty values count.
        settings.resultsExchange = amqpResultsExchange ?? Setting.environment["WARDEN_AMQP_RESULTS_EXCHANGE"] ?? settings.resultsExchange
        settings.resultsRoutingKey = Setting.resolve(amqpResultsRoutingKey, env: "WARDEN_AMQP_RESULTS_ROUTING_KEY") ?? settings.resultsRoutingKey
        let resultsQueue = amqpResultsQueue ?? Setting.environment["WARDEN_AMQP_RESULTS_QUEUE"] ?? settings.resultsQueue ?? ""
        settings.resultsQueue = resultsQueue.isEmpty ? nil : resultsQueue
        settings.retryDelay = try Setting.resolveSeconds(
            amqpRetryDelay, env: "WARDEN_AMQP_RETRY_DELAY", default: settings.retryDelay, flagName: "--amqp-retry-delay")
        settings.lane = try resolvedLane(default: settings.lane)
        settings.limits = try requestLimits()
        let engineConfiguration = try engine.configuration()
        settings.prefetch = try Setting.resolve(
            amqpPrefetch, env: "WARDEN_AMQP_PREFETCH",
            default: AMQPWorkerSettings.defaultPrefetch(maxBatchSize: engineConfiguration.batching.maxBatchSize, workers: engineConfiguration.workers))
        guard AMQPWorkerSettings.prefetchRange.contains(settings.prefetch) else { throw ValidationError("--amqp-prefetch must be between 1 and 65535") }
        return settings
    }

    /// Server URLs and credentials from the flags and their `WARDEN_NATS_*` variables.
    func natsOptions(logger: Logger) throws -> NATSOptions {
        let urls = (Setting.resolve(natsUrl, env: "WARDEN_NATS_URL") ?? WorkerConfiguration.defaultServer)
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let auth: NATSAuth
        do {
            auth = try NATSAuth(
                token: Setting.resolve(natsToken, env: "WARDEN_NATS_TOKEN"), user: Setting.resolve(natsUser, env: "WARDEN_NATS_USER"),
                password: Setting.resolve(natsPassword, env: "WARDEN_NATS_PASSWORD"),
                credentialsFile: Setting.resolve(natsCreds, env: "WARDEN_NATS_CREDS"),
                nkeyFile: Setting.resolve(natsNkey, env: "WARDEN_NATS_NKEY"))
        } catch {
            throw ValidationError("\(error.description) (--nats-token, --nats-user/--nats-password, --nats-creds, --nats-nkey)")
        }
        return NATSOptions(servers: urls, auth: auth, name: "warden-worker@\(ProcessInfo.processInfo.hostName)", logger: logger)
    }
}

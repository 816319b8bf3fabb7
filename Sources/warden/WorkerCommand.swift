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

/// The stream consumer's defaults, quoted by the help.
private let streamDefaults = StreamWorkerSettings(stream: "")

/// `warden worker`: moderates a NATS JetStream stream and answers core-NATS requests, with the same engine
/// as `serve` and `score`.
struct WorkerCommand: AsyncParsableCommand, RunsModel {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Moderate a NATS JetStream stream (a durable pull consumer shared by every worker) and answer requests on a NATS subject.",
        discussion: """
            Each message holds a /v1/moderations request body ({"input": ...}); its verdict, the response or \
            error body of that API, is published to --results-subject with Nats-Msg-Id <stream>-<sequence> \
            (a stream must store that subject), and the message is acked only once JetStream has acked the \
            verdict. A message the engine cannot take now is naked with a delay; a poison message (invalid \
            UTF-8 or JSON, empty, over a limit) gets an error verdict and is terminated. Requests on \
            --check-subject (a queue group) are answered directly; the NATS micro discovery subjects \
            ($SRV.PING, $SRV.INFO, $SRV.STATS) are answered too.

            Every option falls back to a WARDEN_* environment variable, then to a default. SIGTERM or SIGINT \
            stops pulling, finishes and acks every message already fetched, then exits 0.
            """)

    @Option(
        help: "NATS server URL(s), comma-separated: nats://host:port or tls://host:port (env WARDEN_NATS_URL; default \(WorkerConfiguration.defaultServer)).")
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
    @Option(
        help: "Durable pull consumer shared by the workers, created when missing (env WARDEN_NATS_CONSUMER; default \(StreamWorkerSettings.defaultConsumer)).")
    var consumer: String?
    @Option(help: "Only the stream's messages on this subject, when the worker creates the consumer (env WARDEN_NATS_FILTER_SUBJECT; none: the whole stream).")
    var filterSubject: String?
    @Option(
        help:
            "Subject of each verdict; {subject} is the source message's subject, {stream} the stream (env WARDEN_NATS_RESULTS_SUBJECT; default \(streamDefaults.resultsSubject))."
    )
    var resultsSubject: String?
    @Option(help: "Lane of stream messages that name none: interactive or bulk (env WARDEN_NATS_LANE; default \(streamDefaults.lane.rawValue)).")
    var lane: String?
    @Option(help: "AckWait of the consumer the worker creates, seconds (env WARDEN_NATS_ACK_WAIT; default \(Int(streamDefaults.ackWait.seconds))).")
    var ackWait: Double?
    @Option(
        help: "MaxAckPending of the consumer the worker creates, over all workers (env WARDEN_NATS_MAX_ACK_PENDING; default \(streamDefaults.maxAckPending)).")
    var maxAckPending: Int?
    @Option(help: "Messages per pull (env WARDEN_NATS_FETCH_BATCH; default --max-batch-size x --workers).")
    var fetchBatch: Int?
    @Option(help: "Most messages this worker holds, fetched and not yet acked (env WARDEN_NATS_MAX_IN_FLIGHT; default 2 x --fetch-batch).")
    var maxInFlight: Int?
    @Option(
        help: "Subject of core-NATS moderation requests; empty turns it off (env WARDEN_NATS_CHECK_SUBJECT; default \(WorkerConfiguration().checkSubject)).")
    var checkSubject: String?
    @Option(help: "Queue group of --check-subject (env WARDEN_NATS_QUEUE_GROUP; default \(WorkerConfiguration().queueGroup)).")
    var queueGroup: String?
    @Option(help: "Largest message body in bytes; a larger one is poison (env WARDEN_MAX_BODY_BYTES; default \(WorkerConfiguration().limits.maxBodyBytes)).")
    var maxBodyBytes: Int?
    @Option(help: "Most texts per message or request (env WARDEN_MAX_INPUTS; default \(WorkerConfiguration().limits.maxInputs)).")
    var maxInputs: Int?
    @Option(help: "Port of /healthz, /readyz and /metrics (Prometheus) over HTTP (env WARDEN_METRICS_PORT; none: no HTTP at all).")
    var metricsPort: Int?
    @Option(help: "Address of --metrics-port (env WARDEN_METRICS_HOST; default \(WorkerConfiguration().metricsHost), so that probes reach it in a pod).")
    var metricsHost: String?

    @OptionGroup var engine: EngineOptions

    func run() async throws {
        let logger = try engine.startLogging(label: "warden.worker")
        let options = try natsOptions(logger: logger)
        let probePort = try Setting.resolve(metricsPort, env: "WARDEN_METRICS_PORT", default: -1)
        guard probePort == -1 || (0...65535).contains(probePort) else { throw ValidationError("--metrics-port must be between 0 and 65535") }
        // The Prometheus factory is bootstrapped before the engine makes its metrics.
        if probePort >= 0 { _ = WardenMetrics.registry }
        let configuration = try workerConfiguration()
        let engine = try engine.makeEngine(logger: logger)
        var services: [any Service] = [MemoryReleaseService(engine: engine)]
        if probePort >= 0 {
            services.append(
                buildProbeApplication(
                    host: Setting.resolve(metricsHost, env: "WARDEN_METRICS_HOST") ?? configuration.metricsHost,
                    port: probePort, engine: engine, logger: logger))
        }
        do {
            try await WardenWorker.run(configuration: configuration, engine: engine, nats: options, services: services, logger: logger) {
                print(WardenWorker.readyLine(configuration: configuration))
                fflush(nil)
            }
        } catch {
            throw CommandFailure(error.description)
        }
    }

    /// What to serve, from the flags and their `WARDEN_NATS_*` variables.
    func workerConfiguration() throws -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        // An empty WARDEN_NATS_CHECK_SUBJECT turns the request service off, as an empty flag does.
        configuration.checkSubject = checkSubject ?? Setting.environment["WARDEN_NATS_CHECK_SUBJECT"] ?? configuration.checkSubject
        configuration.queueGroup = Setting.resolve(queueGroup, env: "WARDEN_NATS_QUEUE_GROUP") ?? configuration.queueGroup
        try Setting.override(&configuration.limits.maxBodyBytes, with: maxBodyBytes, env: "WARDEN_MAX_BODY_BYTES")
        try Setting.override(&configuration.limits.maxInputs, with: maxInputs, env: "WARDEN_MAX_INPUTS")
        guard let streamName = Setting.resolve(stream, env: "WARDEN_NATS_STREAM") else {
            guard !configuration.checkSubject.isEmpty else { throw ValidationError("nothing to do: give --stream, or a non-empty --check-subject") }
            return configuration
        }
        var settings = StreamWorkerSettings(
            stream: streamName, consumer: Setting.resolve(consumer, env: "WARDEN_NATS_CONSUMER") ?? StreamWorkerSettings.defaultConsumer)
        settings.filterSubject = Setting.resolve(filterSubject, env: "WARDEN_NATS_FILTER_SUBJECT")
        settings.resultsSubject = Setting.resolve(resultsSubject, env: "WARDEN_NATS_RESULTS_SUBJECT") ?? settings.resultsSubject
        let laneName = Setting.resolve(lane, env: "WARDEN_NATS_LANE") ?? settings.lane.rawValue
        guard let chosen = Lane(rawValue: laneName) else { throw ValidationError("--lane must be interactive or bulk (got '\(laneName)')") }
        settings.lane = chosen
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

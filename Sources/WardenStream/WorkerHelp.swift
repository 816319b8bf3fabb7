import WardenCore
import WardenGateway

/// The help of `warden worker`'s flags, beside the settings they set: each default is quoted from
/// ``WorkerConfiguration``, ``StreamWorkerSettings`` or ``AMQPWorkerSettings``, so the help cannot disagree
/// with the code.
public enum WorkerHelp {
    private static let workerDefaults = WorkerConfiguration()
    private static let streamDefaults = StreamWorkerSettings(stream: "")
    private static let amqpDefaults = AMQPWorkerSettings.defaults

    /// What `warden worker` does, in one line.
    public static let abstract =
        "Moderate a NATS JetStream stream (a durable pull consumer shared by every worker) and answer requests on a NATS subject, or a RabbitMQ queue (--amqp-url)."
    /// How `warden worker` moderates, acks and stops.
    public static let discussion = """
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
        """

    public static let natsUrl =
        "NATS server URL(s), comma-separated: nats://host:port or tls://host:port (env WARDEN_NATS_URL; default \(WorkerConfiguration.defaultServer))."
    public static let natsToken = "NATS token (env WARDEN_NATS_TOKEN). On the command line it is visible in the process list: prefer the variable."
    public static let natsUser = "NATS user (env WARDEN_NATS_USER)."
    public static let natsPassword = "NATS password (env WARDEN_NATS_PASSWORD)."
    public static let natsCreds = "NATS credentials file: user JWT and NKey seed, as nsc writes them (env WARDEN_NATS_CREDS)."
    public static let natsNkey = "NATS NKey seed file, for a user known by its NKey alone (env WARDEN_NATS_NKEY)."
    public static let stream = "JetStream stream to moderate (env WARDEN_NATS_STREAM). Without it, only --check-subject is served."
    public static let consumer =
        "Durable pull consumer shared by the workers, created when missing (env WARDEN_NATS_CONSUMER; default \(StreamWorkerSettings.defaultConsumer))."
    public static let filterSubject =
        "Only the stream's messages on this subject, when the worker creates the consumer (env WARDEN_NATS_FILTER_SUBJECT; none: the whole stream)."
    public static let resultsSubject =
        "Subject of each verdict; {subject} is the source message's subject, {stream} the stream (env WARDEN_NATS_RESULTS_SUBJECT; default \(streamDefaults.resultsSubject))."
    public static let lane =
        "Lane of stream or queue messages that name none: interactive or bulk (env WARDEN_NATS_LANE; default \(streamDefaults.lane.rawValue))."
    public static let ackWait =
        "AckWait of the consumer the worker creates, seconds (env WARDEN_NATS_ACK_WAIT; default \(Int(streamDefaults.ackWait.components.seconds)))."
    public static let maxAckPending =
        "MaxAckPending of the consumer the worker creates, over all workers (env WARDEN_NATS_MAX_ACK_PENDING; default \(streamDefaults.maxAckPending))."
    public static let fetchBatch = "Messages per pull (env WARDEN_NATS_FETCH_BATCH; default --max-batch-size x --workers)."
    public static let maxInFlight = "Most messages this worker holds, fetched and not yet acked (env WARDEN_NATS_MAX_IN_FLIGHT; default 2 x --fetch-batch)."
    public static let checkSubject =
        "Subject of core-NATS moderation requests; empty turns it off (env WARDEN_NATS_CHECK_SUBJECT; default \(workerDefaults.checkSubject))."
    public static let queueGroup = "Queue group of --check-subject (env WARDEN_NATS_QUEUE_GROUP; default \(workerDefaults.queueGroup))."
    public static let amqpUrl =
        "RabbitMQ broker: amqp://user:password@host:port/vhost, or amqps:// for TLS (env WARDEN_AMQP_URL). With it the worker consumes an AMQP queue, not NATS; prefer the variable, flags show in the process list."
    public static let amqpQueue = "AMQP queue of requests, declared durable when missing (env WARDEN_AMQP_QUEUE; default \(amqpDefaults.queue))."
    public static let amqpQueueType =
        "Type of the AMQP queue when declared: \(AMQPWorkerSettings.queueTypes.joined(separator: " or ")) (env WARDEN_AMQP_QUEUE_TYPE; default \(amqpDefaults.queueType))."
    public static let amqpDeadLetterExchange =
        "Dead-letter exchange of the AMQP queue when declared: where poison goes after its error verdict (env WARDEN_AMQP_DEAD_LETTER_EXCHANGE; none: poison is dropped)."
    public static let amqpDeadLetterRoutingKey =
        "Dead-letter routing key of the AMQP queue when declared (env WARDEN_AMQP_DEAD_LETTER_ROUTING_KEY; none: the message's own)."
    public static let amqpResultsExchange =
        "Exchange of the AMQP verdicts, declared (topic, durable) when named (env WARDEN_AMQP_RESULTS_EXCHANGE; empty: the default exchange, routing by queue name)."
    public static let amqpResultsRoutingKey =
        "Routing key of the AMQP verdicts; {routing_key} is the request's (env WARDEN_AMQP_RESULTS_ROUTING_KEY; default \(amqpDefaults.resultsRoutingKey))."
    public static let amqpResultsQueue =
        "Queue declared to hold the AMQP verdicts, bound to a named results exchange; empty declares none (env WARDEN_AMQP_RESULTS_QUEUE; default \(amqpDefaults.resultsQueue ?? ""))."
    public static let amqpPrefetch =
        "Most unacked AMQP messages this worker holds, basic.qos (env WARDEN_AMQP_PREFETCH; default 2 x --max-batch-size x --workers)."
    public static let amqpRetryDelay =
        "Seconds an AMQP message the engine cannot take now is held before it is requeued (env WARDEN_AMQP_RETRY_DELAY; default \(Int(amqpDefaults.retryDelay.components.seconds)))."
    public static let maxBodyBytes =
        "Largest message body in bytes; a larger one is poison (env WARDEN_MAX_BODY_BYTES; default \(workerDefaults.limits.maxBodyBytes))."
    public static let maxInputs = "Most texts per message or request (env WARDEN_MAX_INPUTS; default \(workerDefaults.limits.maxInputs))."
    public static let metricsPort = "Port of /healthz, /readyz and /metrics (Prometheus) over HTTP (env WARDEN_METRICS_PORT; none: no HTTP at all)."
    public static let policies =
        "Policies file (YAML or JSON), as warden serve's: named threshold sets a message chooses with \"policy\"; reloaded on SIGHUP (env WARDEN_POLICIES; default none)."
    public static let metricsHost =
        "Address of --metrics-port (env WARDEN_METRICS_HOST; default \(workerDefaults.metricsHost), so that probes reach it in a pod)."
}

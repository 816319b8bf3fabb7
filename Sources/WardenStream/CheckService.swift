import Foundation
import Logging
import NATSClient
import ServiceLifecycle
import Synchronization
import WardenAPI
import WardenCore
import WardenGateway
import WardenPolicies

/// Core-NATS request/reply for `warden worker`: a `/v1/moderations` request on the check subject (served by
/// a queue group, so each request reaches one worker) is answered with the response or error JSON of the
/// HTTP API; errors also carry the micro protocol's `Nats-Service-Error-Code` and `Nats-Service-Error`.
///
/// It also answers the NATS micro discovery subjects (`$SRV.PING`, `$SRV.INFO`, `$SRV.STATS`, and their
/// `.warden` and `.warden.<id>` forms), so `nats micro ls` and the like see every worker.
public final class CheckService: Service, Sendable {
    /// The service name in the micro protocol.
    public static let name = "warden"

    struct Stats {
        var requests = 0
        var errors = 0
        var lastError = ""
        var processing: Duration = .zero
    }

    private let engine: ModerationEngine
    private let connection: NATSConnection
    private let subject: String
    private let queueGroup: String
    private let version: String
    private let call: ModerationCall
    private let logger: Logger
    private let onListening: @Sendable () -> Void
    /// This instance's id in the micro protocol.
    public let id = NUID.next()
    private let started = Date()
    private let stats = Mutex(Stats())

    public init(
        engine: ModerationEngine, connection: NATSConnection, subject: String, queueGroup: String, version: String,
        limits: RequestLimits = RequestLimits(), policies: PolicyStore? = nil, shadow: ShadowScorer? = nil, logger: Logger,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.engine = engine
        self.connection = connection
        self.subject = subject
        self.queueGroup = queueGroup
        self.version = version
        self.call = ModerationCall(
            bundle: engine.bundle, lanes: engine.configuration.batching, limits: limits, policies: policies, shadow: shadow)
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        _ = try await engine.ready()
        let requests = try connection.subscribe(to: subject, queue: queueGroup)
        var discovery: [NATSSubscription] = []
        for verb in ["PING", "INFO", "STATS"] {
            for suffix in ["", ".\(Self.name)", ".\(Self.name).\(id)"] {
                discovery.append(try connection.subscribe(to: "$SRV.\(verb)\(suffix)"))
            }
        }
        // Once the server has seen the subscriptions (a flush round trip), a request finds a responder. While
        // disconnected the flush fails; the subscriptions are then sent again on reconnection.
        try? await connection.flush()
        onListening()
        logger.info("answering requests", metadata: ["subject": "\(subject)", "queue_group": "\(queueGroup)", "id": "\(id)"])
        let all = discovery
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for subscription in all {
                    group.addTask { for await message in subscription { self.discover(message) } }
                }
                group.addTask {
                    await withTaskGroup(of: Void.self) { answers in
                        for await request in requests {
                            answers.addTask { await self.answer(request) }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop taking requests; the ones received are still answered before run() returns.
            Task {
                try? await requests.drain()
                for subscription in all { subscription.unsubscribe() }
            }
        }
    }

    private func answer(_ request: NATSMessage) async {
        guard let replyTo = request.replyTo else { return }
        let clock = ContinuousClock()
        let start = clock.now
        var headers = NATSHeaders()
        let payload: [UInt8]
        do throws(ModerationFault) {
            let response = try await call.moderate(request.payload, on: engine, id: ModerationCall.newID())
            payload = (try? Verdict.success(response).payload) ?? []
        } catch {
            let verdict = Verdict.failure(error)
            headers[VerdictHeader.serviceErrorCode] = String(error.status)
            headers[VerdictHeader.serviceError] = error.message
            payload = verdict.payload
            stats.withLock {
                $0.errors += 1
                $0.lastError = "\(error.status):\(error.message)"
            }
        }
        stats.withLock {
            $0.requests += 1
            $0.processing += start.duration(to: clock.now)
        }
        do {
            try connection.publish(to: replyTo, payload: payload, headers: headers.isEmpty ? nil : headers)
        } catch {
            logger.warning("could not answer a request", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Micro discovery

    private func discover(_ message: NATSMessage) {
        guard let replyTo = message.replyTo else { return }
        let verb = message.subject.split(separator: ".").dropFirst().first.map(String.init) ?? ""
        var object: [String: Any] = ["name": Self.name, "id": id, "version": version, "metadata": ["model": engine.bundle.name]]
        let endpoint: [String: Any] = ["name": "check", "subject": subject, "queue_group": queueGroup, "metadata": NSNull()]
        switch verb {
        case "PING":
            object["type"] = "io.nats.micro.v1.ping_response"
        case "INFO":
            object["type"] = "io.nats.micro.v1.info_response"
            object["description"] = "Warden text moderation: /v1/moderations requests over NATS"
            object["endpoints"] = [endpoint]
        case "STATS":
            let current = stats.withLock { $0 }
            object["type"] = "io.nats.micro.v1.stats_response"
            object["started"] = ISO8601DateFormatter().string(from: started)
            var endpointStats = endpoint
            endpointStats["num_requests"] = current.requests
            endpointStats["num_errors"] = current.errors
            endpointStats["last_error"] = current.lastError
            endpointStats["processing_time"] = current.processing.nanoseconds
            endpointStats["average_processing_time"] = current.requests == 0 ? 0 : current.processing.nanoseconds / Int64(current.requests)
            endpointStats.removeValue(forKey: "metadata")
            object["endpoints"] = [endpointStats]
        default:
            return
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        try? connection.publish(to: replyTo, payload: Array(data))
    }
}

import Hummingbird
import Logging
import WardenCore
import WardenGateway

/// Builds the Warden HTTP application over `engine`: routes, auth, error mapping, metrics. `warden serve`
/// and the tests both call this; the engine runs as a service of the application, so the server answers
/// `/healthz` at once and `/readyz` 200 once the model is warm.
///
/// - Parameters:
///   - engine: the moderation engine. It must not run elsewhere: the application runs it.
///   - shadow: a candidate model scoring a sample of requests after they are answered; the application
///     runs it (and its engine).
///   - events: callbacks with the bound port when the server listens and when it is ready.
public func buildApplication(
    configuration: ServerConfiguration,
    engine: ModerationEngine,
    shadow: ShadowScorer? = nil,
    logger: Logger? = nil,
    events: ServerEvents = ServerEvents()
) -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "warden")
    logger.logLevel = configuration.logLevel
    let announcer = ReadinessAnnouncer(onReady: events.ready)
    let connections = ConnectionCounter(limit: configuration.maxConnections)

    let router = Router(context: WardenRequestContext.self)
    router.middlewares.add(ErrorBodyMiddleware())
    router.middlewares.add(MetricsMiddleware())
    WardenRoutes(engine: engine, configuration: configuration, registry: WardenMetrics.registry, shadow: shadow).add(to: router)

    var app = Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    ConnectionGuardHandler(
                        counter: connections, bodyTimeout: .nanoseconds(configuration.bodyTimeout.nanoseconds),
                        maxBodyBytes: configuration.limits.maxBodyBytes)
                ],
                idleTimeout: .nanoseconds(configuration.idleTimeout.nanoseconds))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "warden"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            events.listening?(port)
            announcer.listening(on: port)
        },
        logger: logger)
    // Services shut down in reverse order: the HTTP server (added by Application last) drains first, then
    // the engine lets the batcher finish what was admitted; a shadow stops after the server (no more samples)
    // and before the engine.
    app.addServices(engine)
    if let shadow { app.addServices(shadow) }
    app.addServices(ReadinessWatcher(engine: engine, announcer: announcer))
    return app
}

/// An HTTP application with only `/healthz`, `/readyz` and `/metrics` over an engine that runs elsewhere (as
/// a service of the caller's group): the probes and the Prometheus scrape of `warden worker`.
public func buildProbeApplication(host: String, port: Int, engine: ModerationEngine, logger: Logger) -> some ApplicationProtocol {
    var configuration = ServerConfiguration()
    configuration.host = host
    configuration.port = port
    let router = Router(context: WardenRequestContext.self)
    router.middlewares.add(ErrorBodyMiddleware())
    WardenRoutes(engine: engine, configuration: configuration, registry: WardenMetrics.registry).addProbes(to: router)
    return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "warden"), logger: logger)
}

/// Lifecycle callbacks of the application, with the port actually bound (useful with port 0).
public struct ServerEvents: Sendable {
    /// The socket listens (the model may still be loading: `/readyz` answers 503).
    public var listening: (@Sendable (_ port: Int) -> Void)?
    /// The model is warm and the socket listens: `/readyz` answers 200.
    public var ready: (@Sendable (_ port: Int) -> Void)?

    public init(listening: (@Sendable (_ port: Int) -> Void)? = nil, ready: (@Sendable (_ port: Int) -> Void)? = nil) {
        self.listening = listening
        self.ready = ready
    }
}

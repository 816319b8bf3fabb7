import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import WardenAPI
import WardenCore
import WordPiece

/// Request context of Warden's routes.
public typealias WardenRequestContext = BasicRequestContext

/// Builds the Warden HTTP application: routes, auth, error mapping, and the model service that loads,
/// warms up and runs the batching engine. `warden serve` and the tests both call this.
///
/// The bundle and tokenizer are read and validated here (a bad manifest fails at once); the model
/// itself loads in the background while the server already answers `/healthz` (and 503 on `/readyz`).
///
/// - Parameters:
///   - makeBackends: creates the inference backends (one per worker) for the bundle, e.g. TorchScript
///     through `TorchBackend`. Runs inside the model service, after the server starts.
///   - events: callbacks with the bound port when the server listens and when it is ready.
public func buildApplication(
    configuration: ServerConfiguration,
    logger: Logger? = nil,
    makeBackends: @escaping @Sendable (ModelBundle) async throws -> [any InferenceBackend],
    events: ServerEvents = ServerEvents()
) throws -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "warden")
    logger.logLevel = configuration.logLevel
    let bundle = try ModelBundle.load(directory: configuration.modelDirectory)
    let tokenizer = try WordPieceTokenizer(directory: bundle.tokenizerDirectory)
    try configuration.batching.validate(maxSequenceLength: bundle.maxSequenceLength)
    let registry = WardenMetrics.registry

    let state = EngineState(onReady: events.ready)
    let router = Router(context: WardenRequestContext.self)
    router.middlewares.add(ErrorBodyMiddleware())
    router.middlewares.add(MetricsMiddleware())

    router.get("/healthz") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    let routes = ModerationRoutes<WardenRequestContext>(state: state, bundle: bundle, configuration: configuration)
    router.get("/readyz") { _, _ in
        guard state.moderator != nil else { throw routes.notReadyError() }
        let body = #"{"status":"ready","model":"\#(bundle.name)"}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    let metricsGroup = router.group("metrics")
    if configuration.protectMetrics && !configuration.apiKeys.isEmpty {
        metricsGroup.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys))
    }
    metricsGroup.get { _, _ in
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    let api = router.group("v1")
    if !configuration.apiKeys.isEmpty { api.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys)) }
    api.post("moderate") { request, context in try await routes.moderate(request, context: context) }
    api.get("models") { _, _ in
        let info = ModelInfo(id: bundle.name, version: bundle.version, labels: bundle.labels,
                             thresholds: Dictionary(uniqueKeysWithValues: zip(bundle.labels, bundle.thresholds)),
                             maxSequenceLength: bundle.maxSequenceLength, precision: bundle.precision)
        let data = try JSONEncoder().encode(ModelList(data: [info]))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    let modelService = ModelService(bundle: bundle, tokenizer: tokenizer, batching: configuration.batching,
                                    warmUpTexts: configuration.warmUpTexts, makeBackends: makeBackends,
                                    state: state, logger: logger)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(30))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "warden"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            events.listening?(port)
            state.markListening(port: port)
        },
        logger: logger)
    // Services shut down in reverse order: the HTTP server (added by Application last) drains first,
    // then the model service lets the batcher finish what was admitted.
    app.addServices(modelService)
    return app
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

/// Turns errors that are not already Warden's `APIError` (unknown route, Hummingbird's own errors) into
/// the same JSON error body, so every non-2xx answer has `{"error": {...}}`.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: throw APIError.notFound
            case .contentTooLarge: throw APIError(status: .contentTooLarge, code: "body_too_large", message: error.body ?? "The request body is too large.")
            case .methodNotAllowed: throw APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "This endpoint does not accept \(request.method).")
            default: throw APIError(status: error.status, code: "http_error", message: error.body ?? error.status.reasonPhrase)
            }
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw APIError(status: .internalServerError, code: "internal_error", type: "server_error", message: "Internal error; see the server log.")
        }
    }
}


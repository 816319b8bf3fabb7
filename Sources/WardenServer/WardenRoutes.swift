import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import Prometheus
import WardenAPI
import WardenCore
import WardenGateway
import WordPiece

/// Every route of Warden's HTTP API:
/// - `POST /v1/moderations` (OpenAI's path; `/v1/moderate` is an alias): decode and check the request, score
///   it through the engine's `Moderator`, answer in OpenAI's moderation shape (categories under their OpenAI
///   names where the model declares them) with per-stage timings in `Server-Timing`;
/// - `GET /v1/models`, `/healthz`, `/readyz`, `/metrics`;
/// - `POST /admin/reload` (only when enabled, behind the API keys): reloads the model without a restart.
struct WardenRoutes: Sendable {
    typealias Context = WardenRequestContext

    let engine: ModerationEngine
    let configuration: ServerConfiguration
    let registry: PrometheusCollectorRegistry

    private var bundle: ModelBundle { engine.bundle }
    /// The watchdog's figure, refreshed at each scrape.
    private let longestRunningBatch = Gauge(label: "warden_longest_running_batch_seconds")
    /// Request → engine → response, shared with the NATS worker; fixed by the bundle and the limits, so
    /// built once rather than per request.
    private let call: ModerationCall
    private var categoryNames: [String] { call.categoryNames }

    /// `shadow` scores a sample of requests again with a candidate model, after each answer is computed.
    init(engine: ModerationEngine, configuration: ServerConfiguration, registry: PrometheusCollectorRegistry, shadow: ShadowScorer? = nil) {
        self.engine = engine
        self.configuration = configuration
        self.registry = registry
        call = ModerationCall(
            bundle: engine.bundle, lanes: engine.configuration.batching, limits: configuration.limits, policies: configuration.policies,
            shadow: shadow)
    }

    /// Adds the routes (and the API-key checks where keys are configured) to `router`.
    func add(to router: Router<Context>) {
        addProbes(to: router)
        let api = router.group("v1")
        if !configuration.apiKeys.isEmpty { api.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys)) }
        api.post("moderations") { request, context in try await moderate(request, context: context) }
        api.post("moderate") { request, context in try await moderate(request, context: context) }
        api.get("models") { _, _ in try models() }
        api.get("policies") { _, _ in try policyList() }
        if configuration.servesPage { addPage(to: router) }
        if configuration.adminReload {
            let admin = router.group("admin")
            admin.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys))
            admin.post("reload") { _, context in try await reload(context: context) }
        }
    }

    /// Reloads the model from its directory (``ModerationEngine/reload(from:)``) and answers with the model
    /// now served; a failed reload leaves the old model serving and answers why.
    func reload(context: Context) async throws -> Response {
        let report: ReloadReport
        do {
            report = try await engine.reload()
        } catch {
            throw APIError(.reload(error))
        }
        let served = report.served
        let body: [String: String] = [
            "status": "reloaded", "model": served.bundle.name, "version": served.bundle.version,
            "previous_model": report.previous.name, "previous_version": report.previous.version,
            "loaded_at": Self.timestamp(served.loadedAt), "load_seconds": String(format: "%.3f", served.loadDuration.seconds),
        ]
        let data = try JSONEncoder.warden.encode(body)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `/healthz`, `/readyz` and `/metrics` alone (also served by `warden worker --metrics-port`).
    func addProbes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.head("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in try readiness() }
        router.head("/readyz") { _, _ in try readiness() }
        let metrics = router.group("metrics")
        if configuration.protectMetrics && !configuration.apiKeys.isEmpty {
            metrics.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys))
        }
        metrics.get { _, _ in metricsText() }
    }

    func models() throws -> Response {
        let served = engine.served
        let bundle = served?.bundle ?? bundle
        let names = Set(categoryNames)
        let coverage = OpenAICategoryCoverage(
            covered: ModelBundle.openAICategoryNames.filter { names.contains($0) },
            notCovered: ModelBundle.openAICategoryNames.filter { !names.contains($0) })
        let info = ModelInfo(
            id: bundle.name, version: bundle.version, labels: bundle.labels,
            categories: Dictionary(uniqueKeysWithValues: zip(bundle.labels, categoryNames)), openAICategories: coverage,
            thresholds: Dictionary(uniqueKeysWithValues: zip(bundle.labels, bundle.thresholds)),
            maxSequenceLength: bundle.maxSequenceLength,
            precision: engine.runtime?.precision ?? bundle.precision,
            loadedAt: served.map { Self.timestamp($0.loadedAt) }, loadSeconds: served?.loadDuration.seconds)
        let data = try JSONEncoder.warden.encode(ModelList(data: [info]))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 200 once the engine is warm and no batch is stuck on a backend; 503 otherwise.
    func readiness() throws -> Response {
        guard let moderator = engine.moderator else { throw notReadyError() }
        let running = moderator.batcher.longestRunningBatch
        guard running < configuration.stuckBatchThreshold else {
            throw APIError(
                .notReady(
                    "A batch has been running on the model for \(Int(running.seconds)) s (more than \(Int(configuration.stuckBatchThreshold.seconds)) s): the model looks stuck."
                ))
        }
        return Self.json(#"{"status":"ready","model":"\#(engine.bundle.name)"}"#)
    }

    func metricsText() -> Response {
        longestRunningBatch.record(engine.moderator?.batcher.longestRunningBatch.seconds ?? 0)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func moderate(_ request: Request, context: Context) async throws -> Response {
        let contentType = request.headers[.contentType]
        guard let contentType, Self.isJSON(contentType) else { throw APIError(.unsupportedMediaType(contentType)) }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.limits.maxBodyBytes {
            throw APIError(.bodyTooLarge(limit: configuration.limits.maxBodyBytes))
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.limits.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.bodyTooLarge(limit: configuration.limits.maxBodyBytes))
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) that grew past the limit.
            throw APIError(.bodyTooLarge(limit: configuration.limits.maxBodyBytes))
        } catch {
            // The client went away or broke the body off (or it missed the body deadline): a client mistake,
            // reported at debug level; nobody reads the answer.
            context.logger.debug("request body not received", metadata: ["error": "\(error)"])
            throw APIError(.incompleteBody)
        }
        let prepared: ModerationCall.Prepared
        do {
            prepared = try call.prepare(body.readableBytesView, apiKey: context.apiKey)
        } catch {
            throw APIError(error)
        }

        // Whether a text has anything to score is the moderator's rule (after normalisation): `emptyText`.
        guard let served = engine.served else { throw notReadyError() }
        let moderator = served.moderator
        let id = ModerationCall.newID()
        let payload: ModerationResponse
        let outcome: Moderator.Outcome
        let explanation: Duration?
        do {
            // Cancelled when the client goes away: its queued work is dropped, not computed for nobody.
            (payload, outcome, explanation) = try await ClientDisconnect.cancelling(on: context.channel) {
                try await call.run(prepared, with: moderator, model: served.bundle.name, id: id)
            }
        } catch let fault as ModerationFault {
            if fault.code != .cancelled { context.logger.info("moderation refused", metadata: ["code": "\(fault.code.rawValue)"]) }
            throw APIError(fault)
        } catch {
            context.logger.debug("client went away; its request was cancelled")
            throw APIError(.clientClosed)
        }

        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers[HTTPField.Name(WardenHeader.requestID)!] = id
        headers[HTTPField.Name(WardenHeader.serverTiming)!] =
            String(
                format: "tokenize;dur=%.3f, queue;dur=%.3f, inference;dur=%.3f",
                outcome.timings.tokenize.milliseconds, outcome.timings.queue.milliseconds, outcome.timings.inference.milliseconds)
            + (explanation.map { String(format: ", explain;dur=%.3f", $0.milliseconds) } ?? "")
        let data = try JSONEncoder.warden.encode(payload)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func notReadyError() -> APIError {
        switch engine.phase {
        case .failed(let reason): return APIError(.notReady("The model is not available: \(reason)"))
        case .stopped: return APIError(.notReady("The moderation engine has stopped."))
        default: return APIError(.notReady("The model is loading and warming up; retry shortly."))
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}

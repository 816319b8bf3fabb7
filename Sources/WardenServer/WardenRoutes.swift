import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Metrics
import Prometheus
import WardenAPI
import WardenCore
import WordPiece

/// Every route of Warden's HTTP API:
/// - `POST /v1/moderations` (OpenAI's path; `/v1/moderate` is an alias): decode and check the request, score
///   it through the engine's `Moderator`, answer in OpenAI's moderation shape (categories under their OpenAI
///   names where the model declares them) with per-stage timings in `Server-Timing`;
/// - `GET /v1/models`, `/healthz`, `/readyz`, `/metrics`.
struct WardenRoutes: Sendable {
    typealias Context = WardenRequestContext

    let engine: ModerationEngine
    let configuration: ServerConfiguration
    let registry: PrometheusCollectorRegistry

    private var bundle: ModelBundle { engine.bundle }
    /// The watchdog's figure, refreshed at each scrape.
    private let longestRunningBatch = Gauge(label: "warden_longest_running_batch_seconds")
    /// The name each label answers under, in label order (OpenAI's category where declared); fixed by the
    /// bundle, so computed once rather than per request.
    private let categoryNames: [String]
    /// `category_applied_input_types` of every result: each category is scored on text.
    private let appliedInputTypes: [String: [String]]

    init(engine: ModerationEngine, configuration: ServerConfiguration, registry: PrometheusCollectorRegistry) {
        self.engine = engine
        self.configuration = configuration
        self.registry = registry
        categoryNames = engine.bundle.categoryNames
        appliedInputTypes = Dictionary(uniqueKeysWithValues: categoryNames.map { ($0, ["text"]) })
    }

    /// Adds the routes (and the API-key checks where keys are configured) to `router`.
    func add(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.head("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in try readiness() }
        router.head("/readyz") { _, _ in try readiness() }
        let metrics = router.group("metrics")
        if configuration.protectMetrics && !configuration.apiKeys.isEmpty {
            metrics.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys))
        }
        metrics.get { _, _ in metricsText() }
        let api = router.group("v1")
        if !configuration.apiKeys.isEmpty { api.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys)) }
        api.post("moderations") { request, context in try await moderate(request, context: context) }
        api.post("moderate") { request, context in try await moderate(request, context: context) }
        api.get("models") { _, _ in try models() }
    }

    func models() throws -> Response {
        let names = Set(categoryNames)
        let coverage = OpenAICategoryCoverage(covered: ModelBundle.openAICategoryNames.filter { names.contains($0) },
                                              notCovered: ModelBundle.openAICategoryNames.filter { !names.contains($0) })
        let info = ModelInfo(id: bundle.name, version: bundle.version, labels: bundle.labels,
                             categories: Dictionary(uniqueKeysWithValues: zip(bundle.labels, categoryNames)), openAICategories: coverage,
                             thresholds: Dictionary(uniqueKeysWithValues: zip(bundle.labels, bundle.thresholds)),
                             maxSequenceLength: bundle.maxSequenceLength, precision: bundle.precision)
        let data = try JSONEncoder.warden.encode(ModelList(data: [info]))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 200 once the engine is warm and no batch is stuck on a backend; 503 otherwise.
    func readiness() throws -> Response {
        guard let moderator = engine.moderator else { throw notReadyError() }
        let running = moderator.batcher.longestRunningBatch
        guard running < configuration.stuckBatchThreshold else {
            throw APIError.notReady("A batch has been running on the model for \(Int(running.seconds)) s (more than \(Int(configuration.stuckBatchThreshold.seconds)) s): the model looks stuck.")
        }
        return Self.json(#"{"status":"ready","model":"\#(engine.bundle.name)"}"#)
    }

    func metricsText() -> Response {
        longestRunningBatch.record(engine.moderator?.batcher.longestRunningBatch.seconds ?? 0)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func moderate(_ request: Request, context: Context) async throws -> Response {
        let contentType = request.headers[.contentType]
        guard let contentType, Self.isJSON(contentType) else { throw APIError.unsupportedMediaType(contentType) }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw APIError.bodyTooLarge(limit: configuration.maxBodyBytes)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) that grew past the limit.
            throw APIError.bodyTooLarge(limit: configuration.maxBodyBytes)
        } catch {
            // The client went away or broke the body off (or it missed the body deadline): a client mistake,
            // reported at debug level; nobody reads the answer.
            context.logger.debug("request body not received", metadata: ["error": "\(error)"])
            throw APIError.incompleteBody
        }
        if let offset = WordPieceTokenizer.firstInvalidUTF8Offset(in: body.readableBytesView) { throw APIError.invalidUTF8(offset: offset) }

        if let key = JSONDuplicateKeys.first(in: body.readableBytesView) { throw APIError.duplicateKey(key) }
        let decoded: WardenAPI.ModerationRequest
        do {
            decoded = try JSONDecoder().decode(WardenAPI.ModerationRequest.self, from: body)
        } catch let error as DecodingError {
            throw APIError.malformedJSON(Self.describe(error), param: Self.param(of: error))
        } catch {
            throw APIError.malformedJSON("\(error)")
        }
        if decoded.input.isEmptyArray { throw APIError.emptyInput }
        if let part = decoded.input.unsupportedPart { throw APIError.unsupportedInputType(index: part.index, type: part.type) }
        let texts = decoded.input.texts
        guard texts.count <= configuration.maxInputs else { throw APIError.tooManyInputs(count: texts.count, limit: configuration.maxInputs) }
        let options = try options(for: decoded, count: texts.count)

        // Whether a text has anything to score is the moderator's rule (after normalisation): `emptyText`.
        guard let moderator = engine.moderator else { throw notReadyError() }
        let outcome: WardenCore.ModerationResponse
        do {
            // Cancelled when the client goes away: its queued work is dropped, not computed for nobody.
            outcome = try await ClientDisconnect.cancelling(on: context.channel) {
                try await moderator.moderate(texts, options: options)
            }
        } catch let error as ModerationError {
            if error.code != .cancelled { context.logger.info("moderation refused", metadata: ["code": "\(error.code)"]) }
            throw APIError.from(error)
        } catch {
            context.logger.debug("client went away; its request was cancelled")
            throw APIError.clientClosed
        }

        let id = "modr-\(Self.randomHex())"
        let names = categoryNames
        let results = outcome.results.map { result in
            WardenAPI.ModerationResult(
                flagged: result.flagged,
                categories: Dictionary(uniqueKeysWithValues: zip(names, result.flags)),
                categoryScores: Dictionary(uniqueKeysWithValues: zip(names, result.scores)),
                categoryAppliedInputTypes: appliedInputTypes,
                truncated: result.truncated,
                windows: result.windows)
        }
        let payload = WardenAPI.ModerationResponse(id: id, model: bundle.name, results: results)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers[HTTPField.Name(WardenHeader.requestID)!] = id
        headers[HTTPField.Name(WardenHeader.serverTiming)!] = String(
            format: "tokenize;dur=%.3f, queue;dur=%.3f, inference;dur=%.3f",
            outcome.timings.tokenize.milliseconds, outcome.timings.queue.milliseconds, outcome.timings.inference.milliseconds)
        let data = try JSONEncoder.warden.encode(payload)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Lane, deadline and thresholds from the request's Warden extras (lane and deadline checked here).
    ///
    /// Without a `lane`, arrays of more than `interactiveMaxInputs` texts go to bulk, and the moderator puts
    /// the rest on the interactive lane only while they fit its per-request cost cap. A deadline may not
    /// exceed the lane's longest (the bulk lane's when the lane is left to Warden: the moderator then cuts it
    /// to the chosen lane's).
    private func options(for request: WardenAPI.ModerationRequest, count: Int) throws -> ModerationOptions {
        let lanes = engine.configuration.batching
        let lane: Lane?
        switch request.lane {
        case nil: lane = count > configuration.interactiveMaxInputs ? .bulk : nil
        case let name?:
            guard let chosen = Lane(rawValue: name) else { throw APIError.invalidField(.invalidLane, "lane", "must be \"interactive\" or \"bulk\" (got \"\(name)\").") }
            lane = chosen
        }
        var deadline: Duration?
        if let milliseconds = request.deadlineMs {
            let longest = Int(lanes.settings(for: lane ?? .bulk).maxDeadline.milliseconds)
            guard (1...longest).contains(milliseconds) else {
                throw APIError.invalidField(.invalidDeadline, "deadline_ms",
                                            "must be between 1 and \(longest) milliseconds\(lane == .interactive ? " on the interactive lane" : "").")
            }
            deadline = .milliseconds(milliseconds)
        }
        // A threshold may name a label or the OpenAI category it answers under. Values (and unknown names,
        // passed on as given) are checked by the Moderator, one rule for server and CLI; its
        // `invalidThreshold` error maps to 422 `invalid_thresholds`.
        var thresholds: [String: Float] = [:]
        for (name, value) in request.thresholds ?? [:] { thresholds[bundle.label(named: name) ?? name] = value }
        return ModerationOptions(lane: lane, deadline: deadline, thresholds: thresholds)
    }

    func notReadyError() -> APIError {
        switch engine.phase {
        case .failed(let reason): return .notReady("The model is not available: \(reason)")
        case .stopped: return .notReady("The moderation engine has stopped.")
        default: return .notReady("The model is loading and warming up; retry shortly.")
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// The request field a decoding error is about (`input`, `input[1]`, `thresholds.toxic`), if any.
    static func param(of error: DecodingError) -> String? {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        case .keyNotFound(let key, let c): return (c.codingPath + [key]).isEmpty ? nil : Self.join(c.codingPath + [key])
        @unknown default: return nil
        }
        return context.codingPath.isEmpty ? nil : Self.join(context.codingPath)
    }

    private static func join(_ path: [any CodingKey]) -> String {
        let joined = path.map { key -> String in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        return joined.hasPrefix(".") ? String(joined.dropFirst()) : joined
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return joined.isEmpty ? "body" : String(joined.drop { $0 == "." })
        }
        switch error {
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type (\(context.debugDescription))"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        case .keyNotFound(let key, _): return "missing required field `\(key.stringValue)`"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "the body is not JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

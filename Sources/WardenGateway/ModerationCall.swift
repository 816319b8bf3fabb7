import Foundation
import WardenAPI
import WardenCore
import WordPiece

/// One `/v1/moderations` call, whatever carries it (HTTP in `WardenServer`, NATS in `WardenStream`): the
/// request body checked and decoded into texts and options, the engine's answer in the API's shape, and
/// every refusal as a ``ModerationFault``. The one place the request → engine → response mapping lives.
public struct ModerationCall: Sendable {
    public let bundle: ModelBundle
    public let lanes: BatchingConfiguration
    /// Body size and text count limits.
    public let limits: RequestLimits
    /// Most texts in one request (`too_many_inputs` beyond).
    public var maxInputs: Int { limits.maxInputs }
    /// Without a `lane`, arrays of more texts than this go to bulk.
    public var interactiveMaxInputs: Int { limits.interactiveMaxInputs }
    /// The lane of a request that names none, when set (the NATS worker scores its stream on one lane);
    /// nil: Warden chooses as described in ``options(for:count:)``.
    public let defaultLane: WardenCore.Lane?
    /// The name each label answers under, in label order (OpenAI's category where declared).
    public let categoryNames: [String]
    /// `category_applied_input_types` of every result: each category is scored on text.
    private let appliedInputTypes: [String: [String]]

    public init(bundle: ModelBundle, lanes: BatchingConfiguration, limits: RequestLimits = RequestLimits(), defaultLane: WardenCore.Lane? = nil) {
        self.bundle = bundle
        self.lanes = lanes
        self.limits = limits
        self.defaultLane = defaultLane
        categoryNames = bundle.categoryNames
        appliedInputTypes = Dictionary(uniqueKeysWithValues: categoryNames.map { ($0, ["text"]) })
    }

    /// The texts and options of a request body: UTF-8, no duplicated key, the request's JSON shape, a
    /// non-empty `input` of text, at most ``maxInputs`` texts, a known lane and a deadline in range.
    public func decode(_ body: some Collection<UInt8>) throws(ModerationFault) -> (texts: [String], options: Moderator.Options) {
        if let offset = WordPieceTokenizer.firstInvalidUTF8Offset(in: body) { throw .invalidUTF8(offset: offset) }
        do {
            try JSONScanner.validate(body)
        } catch {
            throw ModerationFault(error)
        }
        let decoded: ModerationRequest
        do {
            decoded = try JSONDecoder().decode(ModerationRequest.self, from: Data(body))
        } catch let error as DecodingError {
            throw .malformedJSON(Self.describe(error), param: Self.param(of: error))
        } catch {
            throw .malformedJSON("\(error)")
        }
        if decoded.input.isEmptyArray { throw .emptyInput }
        if let part = decoded.input.unsupportedPart { throw .unsupportedInputType(index: part.index, type: part.type) }
        let texts = decoded.input.texts
        guard texts.count <= maxInputs else { throw .tooManyInputs(count: texts.count, limit: maxInputs) }
        return (texts, try options(for: decoded, count: texts.count))
    }

    /// Lane, deadline and thresholds from the request's Warden extras (lane and deadline checked here).
    ///
    /// Without a `lane`, ``defaultLane`` applies when set; else arrays of more than `interactiveMaxInputs`
    /// texts go to bulk, and the moderator puts the rest on the interactive lane only while they fit its
    /// per-request cost cap. A deadline may not exceed the lane's longest (the bulk lane's when the lane is
    /// left to Warden: the moderator then cuts it to the chosen lane's).
    public func options(for request: ModerationRequest, count: Int) throws(ModerationFault) -> Moderator.Options {
        let lane: WardenCore.Lane?
        switch request.lane {
        case nil: lane = defaultLane ?? (count > interactiveMaxInputs ? .bulk : nil)
        case let name?:
            guard let chosen = WardenCore.Lane(rawValue: name.rawValue) else {
                throw .invalidField(.invalidLane, "lane", "must be \"interactive\" or \"bulk\" (got \"\(name)\").")
            }
            lane = chosen
        }
        var deadline: Duration?
        if let milliseconds = request.deadlineMs {
            let longest = Int(lanes.settings(for: lane ?? .bulk).maxDeadline.milliseconds)
            guard (1...longest).contains(milliseconds) else {
                throw .invalidField(
                    .invalidDeadline, "deadline_ms",
                    "must be between 1 and \(longest) milliseconds\(lane == .interactive ? " on the interactive lane" : "").")
            }
            deadline = .milliseconds(milliseconds)
        }
        // A threshold may name a label or the OpenAI category it answers under. Values (and unknown names,
        // passed on as given) are checked by the Moderator, one rule for every caller; its
        // `invalidThreshold` error maps to `invalid_thresholds`.
        var thresholds: [String: Float] = [:]
        for (name, value) in request.thresholds ?? [:] { thresholds[bundle.label(named: name) ?? name] = value }
        return Moderator.Options(lane: lane, deadline: deadline, thresholds: thresholds)
    }

    /// The engine's answer in OpenAI's moderation shape (categories under their OpenAI names where declared).
    ///
    /// - Parameter model: the model named in the response (the served model's name; the bundle's by default).
    public func response(id: String, outcome: Moderator.Outcome, model: String? = nil) -> ModerationResponse {
        let names = categoryNames
        let results = outcome.results.map { result in
            ModerationResult(
                flagged: result.flagged,
                categories: Dictionary(uniqueKeysWithValues: zip(names, result.flags)),
                categoryScores: Dictionary(uniqueKeysWithValues: zip(names, result.scores)),
                categoryAppliedInputTypes: appliedInputTypes,
                truncated: result.truncated,
                windows: result.windows)
        }
        return ModerationResponse(id: id, model: model ?? bundle.name, results: results)
    }

    /// Decodes `body`, scores it and answers in the API's shape, for transports with nothing to add in
    /// between (the NATS worker); every refusal is a ``ModerationFault``.
    public func moderate(
        _ body: some Collection<UInt8>, with moderator: Moderator, model: String? = nil, id: String
    ) async throws(ModerationFault) -> ModerationResponse {
        let (texts, options) = try decode(body)
        do {
            return response(id: id, outcome: try await moderator.moderate(texts, options: options), model: model)
        } catch {
            throw ModerationFault(error)
        }
    }

    /// ``moderate(_:with:model:id:)`` on the model `engine` serves when the call begins (after a reload, the
    /// new one).
    public func moderate(_ body: some Collection<UInt8>, on engine: ModerationEngine, id: String) async throws(ModerationFault) -> ModerationResponse {
        guard let served = engine.served else { throw ModerationFault(ModerationError.shuttingDown) }
        return try await moderate(body, with: served.moderator, model: served.bundle.name, id: id)
    }

    /// A new request id, `modr-` and 16 hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return "modr-" + String(repeating: "0", count: 16 - hex.count) + hex
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
}

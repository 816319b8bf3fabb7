import Foundation
import WardenAPI
import WardenCore
import WardenPolicies
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
    /// The named policies a request may choose (`"policy"`); nil: none configured.
    public let policies: PolicyStore?
    /// A candidate model offered a sample of what ``run(_:with:model:id:)`` answers, on every transport; nil: none.
    public let shadow: ShadowScorer?

    public init(
        bundle: ModelBundle, lanes: BatchingConfiguration, limits: RequestLimits = RequestLimits(), defaultLane: WardenCore.Lane? = nil,
        policies: PolicyStore? = nil, shadow: ShadowScorer? = nil
    ) {
        self.bundle = bundle
        self.lanes = lanes
        self.limits = limits
        self.defaultLane = defaultLane
        self.policies = policies
        self.shadow = shadow
        categoryNames = bundle.categoryNames
        appliedInputTypes = Dictionary(uniqueKeysWithValues: categoryNames.map { ($0, ["text"]) })
    }

    /// The texts and options of a request body: UTF-8, no duplicated key, the request's JSON shape, a
    /// non-empty `input` of text, at most ``maxInputs`` texts, a known lane and a deadline in range.
    public func decode(_ body: some Collection<UInt8>) throws(ModerationFault) -> (texts: [String], options: Moderator.Options) {
        let prepared = try prepare(body)
        return (prepared.texts, prepared.options)
    }

    /// A checked request, ready to score: ``decode(_:)`` plus the policy that decides and whether to explain.
    public struct Prepared: Sendable {
        public var texts: [String]
        public var options: Moderator.Options
        /// The policy that decides (the request's, else its API key's, else the default); nil: the model's
        /// thresholds.
        public var policy: ModerationPolicy?
        /// Whether flagged categories get `highlights`.
        public var explain: Bool
    }

    /// Checks `body` as ``decode(_:)`` does and chooses its policy: the one it names (`unknown_policy` when
    /// no such policy is configured), else the one `apiKey` carries, else the default one.
    public func prepare(_ body: some Collection<UInt8>, apiKey: String? = nil) throws(ModerationFault) -> Prepared {
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
        let policy: ModerationPolicy?
        do {
            policy = try (policies?.current ?? PolicySet()).select(requested: decoded.policy, apiKey: apiKey)
        } catch {
            throw .unknownPolicy(error)
        }
        return Prepared(
            texts: texts, options: try options(for: decoded, count: texts.count, policy: policy), policy: policy,
            explain: decoded.explain ?? false)
    }

    /// Lane, deadline and thresholds from the request's Warden extras (lane and deadline checked here).
    ///
    /// Without a `lane`, ``defaultLane`` applies when set; else arrays of more than `interactiveMaxInputs`
    /// texts go to bulk, and the moderator puts the rest on the interactive lane only while they fit its
    /// per-request cost cap. A deadline may not exceed the lane's longest (the bulk lane's when the lane is
    /// left to Warden: the moderator then cuts it to the chosen lane's).
    /// A policy's thresholds apply first; the request's own override them label by label.
    public func options(for request: ModerationRequest, count: Int, policy: ModerationPolicy? = nil) throws(ModerationFault) -> Moderator.Options {
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
        var thresholds = policy?.thresholds ?? [:]
        for (name, value) in request.thresholds ?? [:] { thresholds[bundle.label(named: name) ?? name] = value }
        return Moderator.Options(lane: lane, deadline: deadline, thresholds: thresholds)
    }

    /// The engine's answer in OpenAI's moderation shape (categories under their OpenAI names where declared).
    ///
    /// Under `policy`, only its flagging categories flag and each result carries the policy's `action`
    /// (`allow` when not flagged); with `explanations` (one per result, nil for a result not explained),
    /// each flagged category gets its `highlights`.
    /// - Parameter model: the model named in the response (the served model's name; the bundle's by default).
    public func response(
        id: String, outcome: Moderator.Outcome, model: String? = nil, policy: ModerationPolicy? = nil,
        explanations: [Moderator.Explanation?]? = nil
    ) -> ModerationResponse {
        let names = categoryNames
        let results = outcome.results.enumerated().map { index, result in
            let decided = Self.decided(result, under: policy, labels: bundle.labels)
            // Asked to explain: every result says what made it flagged (nothing, when it is not).
            var highlights: [String: [Highlight]]? = explanations == nil ? nil : [:]
            if let explanation = explanations?[index] {
                for label in decided.flags.indices where decided.flags[label] {
                    highlights?[names[label]] = explanation.highlights(label: label).map { item in
                        Highlight(
                            start: item.unit.utf16.lowerBound, end: item.unit.utf16.upperBound, text: item.unit.text, drop: item.drop)
                    }
                }
            }
            return ModerationResult(
                flagged: decided.flagged,
                categories: Dictionary(uniqueKeysWithValues: zip(names, decided.flags)),
                categoryScores: Dictionary(uniqueKeysWithValues: zip(names, result.scores)),
                categoryAppliedInputTypes: appliedInputTypes,
                truncated: result.truncated,
                windows: result.windows,
                action: policy.map { decided.flagged ? $0.action.rawValue : PolicyAction.allow.rawValue },
                highlights: highlights)
        }
        return ModerationResponse(id: id, model: model ?? bundle.name, results: results, policy: policy?.name)
    }

    /// A result's flags once `policy` has had its say: labels outside its flagging categories never flag.
    static func decided(_ result: Moderator.Result, under policy: ModerationPolicy?, labels: [String]) -> (flags: [Bool], flagged: Bool) {
        guard let policy else { return (result.flags, result.flagged) }
        let flags = zip(labels, result.flags).map { $1 && policy.flags($0) }
        // A partially scored text stays flagged when the moderator flagged it for that alone.
        let partial = result.flagged && !result.flags.contains(true)
        return (flags, flags.contains(true) || partial)
    }

    /// Scores a prepared request and, when it asks, explains its flagged texts; the answer in the API's
    /// shape, the engine's outcome (its results before any policy, and the timings of the scoring) and how
    /// long the explanation took (nil when none was asked for). Once answered, the request is offered to the
    /// ``shadow``, which returns at once. Every refusal is a ``ModerationFault``.
    public func run(_ prepared: Prepared, with moderator: Moderator, model: String? = nil, id: String) async throws(ModerationFault) -> (
        response: ModerationResponse, outcome: Moderator.Outcome, explanation: Duration?
    ) {
        do {
            let outcome = try await moderator.moderate(prepared.texts, options: prepared.options)
            var explanations: [Moderator.Explanation?]?
            var explanationTime: Duration?
            if prepared.explain {
                let started = ContinuousClock.now
                let flagged = outcome.results.indices.filter {
                    Self.decided(outcome.results[$0], under: prepared.policy, labels: bundle.labels).flags.contains(true)
                }
                explanations = Array(repeating: nil, count: outcome.results.count)
                if !flagged.isEmpty {
                    let explained = try await moderator.explain(
                        flagged.map { prepared.texts[$0] }, scores: flagged.map { outcome.results[$0].scores }, options: prepared.options)
                    for (index, explanation) in zip(flagged, explained) { explanations?[index] = explanation }
                }
                explanationTime = started.duration(to: .now)
            }
            shadow?.offer(id: id, texts: prepared.texts, options: prepared.options, primary: outcome.results)
            return (
                response(id: id, outcome: outcome, model: model, policy: prepared.policy, explanations: explanations), outcome,
                explanationTime
            )
        } catch {
            throw ModerationFault(error)
        }
    }

    /// Decodes `body`, scores it and answers in the API's shape, for transports with nothing to add in
    /// between (the NATS and RabbitMQ workers); every refusal is a ``ModerationFault``.
    public func moderate(
        _ body: some Collection<UInt8>, with moderator: Moderator, model: String? = nil, id: String
    ) async throws(ModerationFault) -> ModerationResponse {
        try await run(try prepare(body), with: moderator, model: model, id: id).response
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

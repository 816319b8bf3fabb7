import Foundation
import WardenAPI
import WordPiece

/// One `/v1/moderations` call, whatever carries it (HTTP in `WardenServer`, NATS in `WardenStream`): the
/// request body checked and decoded into texts and options, the engine's answer in the API's shape, and
/// every refusal as a ``ModerationFault``. The one place the request → engine → response mapping lives.
public struct ModerationCall: Sendable {
    public let bundle: ModelBundle
    public let lanes: BatchingConfiguration
    /// Most texts in one request (`too_many_inputs` beyond).
    public let maxInputs: Int
    /// Without a `lane`, arrays of more texts than this go to bulk.
    public let interactiveMaxInputs: Int
    /// The lane of a request that names none, when set (the NATS worker scores its stream on one lane);
    /// nil: Warden chooses as described in ``options(for:count:)``.
    public let defaultLane: Lane?
    /// The name each label answers under, in label order (OpenAI's category where declared).
    public let categoryNames: [String]
    /// `category_applied_input_types` of every result: each category is scored on text.
    private let appliedInputTypes: [String: [String]]

    public init(bundle: ModelBundle, lanes: BatchingConfiguration, maxInputs: Int = 256, interactiveMaxInputs: Int = 8, defaultLane: Lane? = nil) {
        self.bundle = bundle
        self.lanes = lanes
        self.maxInputs = maxInputs
        self.interactiveMaxInputs = interactiveMaxInputs
        self.defaultLane = defaultLane
        categoryNames = bundle.categoryNames
        appliedInputTypes = Dictionary(uniqueKeysWithValues: categoryNames.map { ($0, ["text"]) })
    }

    /// The texts and options of a request body: UTF-8, no duplicated key, the request's JSON shape, a
    /// non-empty `input` of text, at most ``maxInputs`` texts, a known lane and a deadline in range.
    public func decode(_ body: some Collection<UInt8>) throws(ModerationFault) -> (texts: [String], options: ModerationOptions) {
        if let offset = WordPieceTokenizer.firstInvalidUTF8Offset(in: body) { throw .invalidUTF8(offset: offset) }
        do {
            try JSONScanner.validate(body)
        } catch {
            throw ModerationFault(error)
        }
        let decoded: WardenAPI.ModerationRequest
        do {
            decoded = try JSONDecoder().decode(WardenAPI.ModerationRequest.self, from: Data(body))
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
    public func options(for request: WardenAPI.ModerationRequest, count: Int) throws(ModerationFault) -> ModerationOptions {
        let lane: Lane?
        switch request.lane {
        case nil: lane = defaultLane ?? (count > interactiveMaxInputs ? .bulk : nil)
        case let name?:
            guard let chosen = Lane(rawValue: name) else { throw .invalidField(.invalidLane, "lane", "must be \"interactive\" or \"bulk\" (got \"\(name)\").") }
            lane = chosen
        }
        var deadline: Duration?
        if let milliseconds = request.deadlineMs {
            let longest = Int(lanes.settings(for: lane ?? .bulk).maxDeadline.milliseconds)
            guard (1...longest).contains(milliseconds) else {
                throw .invalidField(.invalidDeadline, "deadline_ms",
                                    "must be between 1 and \(longest) milliseconds\(lane == .interactive ? " on the interactive lane" : "").")
            }
            deadline = .milliseconds(milliseconds)
        }
        // A threshold may name a label or the OpenAI category it answers under. Values (and unknown names,
        // passed on as given) are checked by the Moderator, one rule for every caller; its
        // `invalidThreshold` error maps to `invalid_thresholds`.
        var thresholds: [String: Float] = [:]
        for (name, value) in request.thresholds ?? [:] { thresholds[bundle.label(named: name) ?? name] = value }
        return ModerationOptions(lane: lane, deadline: deadline, thresholds: thresholds)
    }

    /// The engine's answer in OpenAI's moderation shape (categories under their OpenAI names where declared).
    public func response(id: String, outcome: ModerationResponse) -> WardenAPI.ModerationResponse {
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
        return WardenAPI.ModerationResponse(id: id, model: bundle.name, results: results)
    }

    /// Decodes `body`, scores it and answers in the API's shape, for transports with nothing to add in
    /// between (the NATS worker); every refusal is a ``ModerationFault``.
    public func moderate(_ body: some Collection<UInt8>, with moderator: Moderator, id: String) async throws(ModerationFault) -> WardenAPI.ModerationResponse {
        let (texts, options) = try decode(body)
        do {
            return response(id: id, outcome: try await moderator.moderate(texts, options: options))
        } catch {
            throw ModerationFault(error)
        }
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

/// A refused or failed moderation call, as every transport reports it: an HTTP-like status, the stable
/// `code`, OpenAI's error `type`, a message a user can act on, and the request field at fault.
public struct ModerationFault: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: WardenErrorCode
    public var type: String
    public var message: String
    public var param: String?
    /// When a retry may succeed (`overloaded`, `shutting_down`).
    public var retryAfter: Duration?

    public init(status: Int, code: WardenErrorCode, type: String = "invalid_request_error", message: String, param: String? = nil,
                retryAfter: Duration? = nil) {
        self.status = status
        self.code = code
        self.type = type
        self.message = message
        self.param = param
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status) \(code.rawValue): \(message)" }

    /// The JSON error body, OpenAI's shape.
    public var body: ErrorResponse { ErrorResponse(message: message, type: type, code: code.rawValue, param: param) }

    /// Whether the same request can never succeed (a client mistake), as opposed to a passing condition
    /// (overload, shutdown, deadline, a failing model) worth retrying.
    public var isPermanent: Bool { (400..<500).contains(status) && status != 429 && status != 499 }

    // MARK: The catalogue

    public static func malformedJSON(_ detail: String, param: String? = nil) -> ModerationFault {
        ModerationFault(status: 400, code: .invalidJSON, message: "The request body is not valid JSON for this endpoint: \(detail)", param: param)
    }
    public static func invalidUTF8(offset: Int) -> ModerationFault {
        ModerationFault(status: 400, code: .invalidUTF8, message: "The request body is not valid UTF-8 (first bad byte at offset \(offset)).")
    }
    public static let emptyInput = ModerationFault(status: 400, code: .emptyInput, message: "`input` is an empty array; send at least one text.",
                                                   param: "input")
    public static func emptyText(index: Int) -> ModerationFault {
        ModerationFault(status: 400, code: .emptyText,
                        message: "input[\(index)] is empty or holds only whitespace, control, format or private-use characters once normalised; there is nothing to score.",
                        param: "input[\(index)]")
    }
    public static func unsupportedInputType(index: Int, type: String) -> ModerationFault {
        ModerationFault(status: 400, code: .unsupportedInputType,
                        message: "input[\(index)] is a content part of type \"\(type)\"; Warden scores text only (send {\"type\": \"text\", \"text\": …} parts).",
                        param: "input[\(index)]")
    }
    public static func bodyTooLarge(limit: Int) -> ModerationFault {
        ModerationFault(status: 413, code: .bodyTooLarge, message: "The request body exceeds the limit of \(limit) bytes; split it into several requests.")
    }
    public static func tooManyInputs(count: Int, limit: Int) -> ModerationFault {
        ModerationFault(status: 422, code: .tooManyInputs, message: "`input` holds \(count) texts; the limit is \(limit) per request.", param: "input")
    }
    public static func invalidField(_ code: WardenErrorCode, _ field: String, _ problem: String) -> ModerationFault {
        ModerationFault(status: 422, code: code, message: "`\(field)` \(problem)", param: field)
    }
    /// A body the JSON scanner refused: a duplicated key, a lone surrogate, nesting too deep, or not JSON.
    public init(_ failure: JSONScanner.Failure) {
        switch failure.kind {
        case .duplicateKey:
            self = .duplicateKey(failure.path ?? "")
        case .loneSurrogate:
            self = .malformedJSON(
                "`\(failure.path ?? "body")` holds a lone UTF-16 surrogate (\(failure.message), at byte \(failure.offset)); "
                    + "a string cut between the two halves of a character is not text.",
                param: failure.path)
        case .syntax, .tooDeep:
            self = .malformedJSON(failure.description, param: failure.path)
        }
    }
    public static func duplicateKey(_ path: String) -> ModerationFault {
        ModerationFault(status: 400, code: .duplicateKey,
                        message: "The request body names `\(path)` twice; JSON parsers disagree on which one counts, so Warden refuses it.",
                        param: path)
    }
    public static let tooManyConnections = ModerationFault(status: 503, code: .tooManyConnections, type: "server_error",
                                                           message: "The server has too many open connections; retry shortly.",
                                                           retryAfter: .seconds(1))
    public static func notReady(_ reason: String) -> ModerationFault {
        ModerationFault(status: 503, code: .notReady, type: "server_error", message: reason, retryAfter: .seconds(1))
    }

    /// The client went away; nobody reads this answer.
    public static let clientClosed = ModerationFault(status: 499, code: .cancelled, message: "The request was cancelled because the client went away.")

    /// The engine's errors.
    public init(_ error: ModerationError) {
        switch error.code {
        case .overloaded:
            self.init(status: 429, code: .overloaded, type: "rate_limit_error", message: error.description, retryAfter: error.retryAfter ?? .seconds(1))
        case .requestTooLarge:
            self.init(status: 413, code: .requestTooLarge, message: error.description)
        case .deadlineExceeded:
            self.init(status: 504, code: .deadlineExceeded, type: "timeout_error", message: error.description)
        case .invalidThreshold:
            self.init(status: 422, code: .invalidThresholds, message: error.description, param: "thresholds")
        case .emptyText:
            self = .emptyText(index: error.textIndex ?? 0)
        case .shuttingDown:
            self.init(status: 503, code: .shuttingDown, type: "server_error", message: error.description, retryAfter: .seconds(1))
        case .cancelled:
            self = .clientClosed
        default:
            self.init(status: 500, code: .inferenceFailed, type: "server_error", message: error.description)
        }
    }
}

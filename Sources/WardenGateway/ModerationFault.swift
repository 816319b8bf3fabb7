import WardenAPI
import WardenCore
import WardenPolicies

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

    public init(
        status: Int, code: WardenErrorCode, type: String = "invalid_request_error", message: String, param: String? = nil,
        retryAfter: Duration? = nil
    ) {
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
    public static let emptyInput = ModerationFault(
        status: 400, code: .emptyInput, message: "`input` is an empty array; send at least one text.",
        param: "input")
    public static func emptyText(index: Int) -> ModerationFault {
        ModerationFault(
            status: 400, code: .emptyText,
            message: "input[\(index)] is empty or holds only whitespace, control, format or private-use characters once normalised; there is nothing to score.",
            param: "input[\(index)]")
    }
    public static func unsupportedInputType(index: Int, type: String) -> ModerationFault {
        ModerationFault(
            status: 400, code: .unsupportedInputType,
            message: "input[\(index)] is a content part of type \"\(type)\"; Warden scores text only (send {\"type\": \"text\", \"text\": …} parts).",
            param: "input[\(index)]")
    }
    public static func bodyTooLarge(limit: Int) -> ModerationFault {
        ModerationFault(status: 413, code: .bodyTooLarge, message: "The request body exceeds the limit of \(limit) bytes; split it into several requests.")
    }
    public static func tooManyInputs(count: Int, limit: Int) -> ModerationFault {
        ModerationFault(status: 422, code: .tooManyInputs, message: "`input` holds \(count) texts; the limit is \(limit) per request.", param: "input")
    }
    public static func unknownPolicy(_ error: UnknownPolicyError) -> ModerationFault {
        ModerationFault(status: 400, code: .unknownPolicy, message: "`policy`: \(error)", param: "policy")
    }
    public static func invalidField(_ code: WardenErrorCode, _ field: String, _ problem: String) -> ModerationFault {
        ModerationFault(status: 422, code: code, message: "`\(field)` \(problem)", param: field)
    }
    /// A model reload that did not happen: another was under way (409), or the new model failed to load or
    /// warm up (500; the served model keeps serving).
    public static func reload(_ error: EngineError) -> ModerationFault {
        error.isReloadInProgress
            ? ModerationFault(status: 409, code: .reloadInProgress, type: "server_error", message: "A model reload is already under way; retry when it ends.")
            : ModerationFault(
                status: 500, code: .reloadFailed, type: "server_error",
                message: "The model was not reloaded, and the served model keeps serving: \(error)")
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
        ModerationFault(
            status: 400, code: .duplicateKey,
            message: "The request body names `\(path)` twice; JSON parsers disagree on which one counts, so Warden refuses it.",
            param: path)
    }
    // HTTP-level refusals, before a request reaches the moderation mapping.
    public static func methodNotAllowed(_ method: String) -> ModerationFault {
        ModerationFault(status: 405, code: .methodNotAllowed, message: "This endpoint does not accept \(method).")
    }
    public static let notFound = ModerationFault(status: 404, code: .notFound, message: "No such endpoint.")
    public static let internalError = ModerationFault(
        status: 500, code: .internalError, type: "server_error",
        message: "Internal error; see the server log.")
    public static func unsupportedMediaType(_ got: String?) -> ModerationFault {
        ModerationFault(
            status: 415, code: .unsupportedMediaType,
            message: "Send the body as JSON with `Content-Type: application/json` (got \(got.map { "`\($0)`" } ?? "none")).")
    }
    public static let unauthorized = ModerationFault(
        status: 401, code: .invalidAPIKey, type: "authentication_error",
        message: "Missing or wrong API key; send `Authorization: Bearer <key>`.")
    public static let incompleteBody = ModerationFault(
        status: 400, code: .incompleteBody,
        message: "The request body was not received completely (the connection closed or it took too long).")
    /// Any other refusal of the HTTP framework (its status and its words).
    public static func httpError(status: Int, _ message: String) -> ModerationFault {
        ModerationFault(status: status, code: .httpError, type: status >= 500 ? "server_error" : "invalid_request_error", message: message)
    }
    public static let tooManyConnections = ModerationFault(
        status: 503, code: .tooManyConnections, type: "server_error",
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
            self.init(status: 504, code: .deadlineExceeded, type: "timeout_error", message: error.description, retryAfter: error.retryAfter)
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

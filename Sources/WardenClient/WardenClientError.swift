import WardenAPI

/// Why a call to Warden did not produce scores.
///
/// Compare ``code`` to tell the cases apart (`error.code == .timeout`); ``description`` says what happened and
/// what to do about it. The set of codes can grow without breaking callers.
public struct WardenClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreachable, timeout, deadlineExceeded, overloaded, unavailable, badRequest, unauthorized
            case serverError, invalidResponse, cancelled, partlyScored
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Warden could not be reached: connection refused or reset, DNS failure, closed port.
        public static let unreachable = Code(.unreachable)
        /// No answer within the client's own ``WardenClient/Configuration/timeout`` (client side).
        public static let timeout = Code(.timeout)
        /// Warden answered 504: the request's `deadline_ms` passed before its texts were scored (server side).
        public static let deadlineExceeded = Code(.deadlineExceeded)
        /// Warden answered 429 (queue full) on every attempt the retry policy allowed.
        public static let overloaded = Code(.overloaded)
        /// Warden answered 503 (not ready, e.g. still warming up, or shutting down) on every attempt allowed.
        public static let unavailable = Code(.unavailable)
        /// Warden refused the request as invalid (400, 404, 413, 422, …); retrying the same request will not help.
        public static let badRequest = Code(.badRequest)
        /// Warden refused the API key (401 or 403).
        public static let unauthorized = Code(.unauthorized)
        /// Warden failed with another 5xx status.
        public static let serverError = Code(.serverError)
        /// The answer was not a moderation response the client understands (or had the wrong number of results).
        public static let invalidResponse = Code(.invalidResponse)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)
        /// Warden scored only part of the text, and ``WardenClient/Configuration/partlyScored`` is `.unscored`
        /// (``WardenClient/screen(_:options:)`` only).
        public static let partlyScored = Code(.partlyScored)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// The HTTP status of Warden's last answer, when there was one.
    public let status: Int?
    /// The `error.code` field of Warden's JSON error body, when there was one (e.g. `too_many_inputs`).
    public let serverCode: String?
    /// The `error.message` field of Warden's JSON error body, when there was one.
    public let serverMessage: String?
    /// The server's `Retry-After` hint from its last 429/503 answer, when it sent one.
    public let retryAfter: Duration?
    /// What went wrong and what to do about it.
    public let message: String

    public var description: String { "WardenClientError.\(code): \(message)" }

    init(
        code: Code, message: String, status: Int? = nil, serverCode: String? = nil,
        serverMessage: String? = nil, retryAfter: Duration? = nil
    ) {
        self.code = code
        self.status = status
        self.serverCode = serverCode
        self.serverMessage = serverMessage
        self.retryAfter = retryAfter
        self.message = message
    }
}

extension WardenClientError {
    static func unreachable(_ url: String, underlying: String) -> Self {
        .init(
            code: .unreachable,
            message: "Warden at \(url) could not be reached (\(underlying)). Check that it is running and that the base URL and port are right.")
    }

    static func timeout(_ timeout: Duration, url: String) -> Self {
        .init(
            code: .timeout,
            message:
                "Warden at \(url) did not answer within the client timeout of \(timeout). Raise `Configuration.timeout`, or check whether Warden is overloaded."
        )
    }

    static func partlyScored(windows: Int?) -> Self {
        .init(
            code: .partlyScored,
            message:
                "Warden scored only part of the text\(windows.map { " (\($0) windows)" } ?? ""): it is longer than the model covers. It is treated as unscored (`Configuration.partlyScored`); send shorter texts, or raise Warden's --max-windows."
        )
    }

    static func cancelled() -> Self {
        .init(code: .cancelled, message: "The moderation call was cancelled by its caller.")
    }

    static func invalidResponse(_ detail: String, status: Int? = nil) -> Self {
        .init(
            code: .invalidResponse,
            message: "Warden's answer could not be understood: \(detail). Check that the base URL points at a Warden or OpenAI-compatible moderation endpoint.",
            status: status)
    }

    /// Maps a non-200 answer to an error. `attempts` is how many tries were made.
    static func fromStatus(_ status: Int, body: ErrorResponse?, retryAfter: Duration?, attempts: Int) -> Self {
        let serverCode = body?.error.code
        let serverMessage = body?.error.message
        let said = serverMessage.map { " Warden said: \($0)" } ?? ""
        let tries = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
        switch status {
        case 429:
            let hint = retryAfter.map { " It asked to wait \($0) before retrying." } ?? ""
            return .init(
                code: .overloaded,
                message: "Warden is overloaded (429) after \(tries).\(hint) Send fewer requests, use the bulk lane for large jobs, or add capacity.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage, retryAfter: retryAfter)
        case 503:
            return .init(
                code: .unavailable,
                message: "Warden is not ready (503) after \(tries): it is still loading its model or is shutting down. Retry later.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage, retryAfter: retryAfter)
        case 504:
            return .init(
                code: .deadlineExceeded,
                message: "Warden could not score the texts before the request's deadline (504). Allow a longer `deadline` or send fewer texts.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage)
        case 401, 403:
            return .init(
                code: .unauthorized,
                message: "Warden refused the API key (\(status)). Set `Configuration.apiKey` to one of the keys Warden was started with.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage)
        case 404:
            return .init(
                code: .badRequest,
                message: "Warden answered 404 for the moderation path. Check `Configuration.baseURL` and `Configuration.moderationPath`.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage)
        case 400..<500:
            return .init(
                code: .badRequest,
                message: "Warden refused the request (\(status)\(serverCode.map { ", \($0)" } ?? "")); retrying it unchanged will not help.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage)
        default:
            return .init(
                code: .serverError,
                message: "Warden failed with status \(status). Check Warden's logs.\(said)",
                status: status, serverCode: serverCode, serverMessage: serverMessage)
        }
    }
}

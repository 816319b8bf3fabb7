/// The machine-readable `error.code` values of Warden's JSON error bodies, named once for the server that
/// sends them and the clients that read them.
public enum WardenErrorCode: String, Sendable, CaseIterable {
    /// 400: the body is not JSON of the expected shape.
    case invalidJSON = "invalid_json"
    /// 400: the body is not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// 400: `input` is an empty array.
    case emptyInput = "empty_input"
    /// 400: a text has nothing to score once normalised.
    case emptyText = "empty_text"
    /// 400: the body names the same key twice in one object (parsers disagree on which counts).
    case duplicateKey = "duplicate_key"
    /// 400: the body did not arrive completely (connection closed, or the body deadline passed).
    case incompleteBody = "incomplete_body"
    /// 503: the server has too many open connections.
    case tooManyConnections = "too_many_connections"
    /// 400: a content part is not text (an image): Warden scores text only.
    case unsupportedInputType = "unsupported_input_type"
    /// 401: API keys are configured and the request's key is missing or wrong.
    case invalidAPIKey = "invalid_api_key"
    /// 404: no such endpoint.
    case notFound = "not_found"
    /// 405: the endpoint does not accept the method.
    case methodNotAllowed = "method_not_allowed"
    /// 413: the body is over the server's limit.
    case bodyTooLarge = "body_too_large"
    /// 413: the request needs more tokens than the queue can ever hold.
    case requestTooLarge = "request_too_large"
    /// 415: the body is not declared as JSON.
    case unsupportedMediaType = "unsupported_media_type"
    /// 422: more texts than `--max-inputs`.
    case tooManyInputs = "too_many_inputs"
    /// 422: a per-request threshold names an unknown label or is outside 0–1.
    case invalidThresholds = "invalid_thresholds"
    /// 400: `policy` names a policy the server does not have.
    case unknownPolicy = "unknown_policy"
    /// 422: `lane` is not `interactive` or `bulk`.
    case invalidLane = "invalid_lane"
    /// 422: `deadline_ms` is out of range.
    case invalidDeadline = "invalid_deadline_ms"
    /// 429: the queue is full; `Retry-After` says when to retry.
    case overloaded = "overloaded"
    /// 499: the client went away before the answer (never read by anyone).
    case cancelled = "cancelled"
    /// 503: the model is loading or warming up.
    case notReady = "not_ready"
    /// 503: graceful shutdown is in progress.
    case shuttingDown = "shutting_down"
    /// 504: the request's deadline passed before it was scored.
    case deadlineExceeded = "deadline_exceeded"
    /// 500: the model failed.
    case inferenceFailed = "inference_failed"
    /// 409: a model reload is already under way.
    case reloadInProgress = "reload_in_progress"
    /// 500: the new model failed to load or warm up; the served model keeps serving.
    case reloadFailed = "reload_failed"
    /// Any other HTTP-level error.
    case httpError = "http_error"
    /// 500: an unexpected error; the server log has the details.
    case internalError = "internal_error"
}

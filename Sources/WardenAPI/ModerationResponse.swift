/// Body of a successful `POST /v1/moderate`: OpenAI's moderation response shape.
public struct ModerationResponse: Codable, Sendable, Equatable {
    /// A unique id for this request (`modr-…`); also sent as the `X-Request-Id` header.
    public var id: String
    /// The model that scored the texts.
    public var model: String
    /// One result per input text, in input order.
    public var results: [ModerationResult]

    public init(id: String, model: String, results: [ModerationResult]) {
        self.id = id
        self.model = model
        self.results = results
    }
}

/// The verdict for one text.
public struct ModerationResult: Codable, Sendable, Equatable {
    /// True when any label's score reached its threshold.
    public var flagged: Bool
    /// Per label: score >= threshold.
    public var categories: [String: Bool]
    /// Per label: the model's probability in [0, 1].
    public var categoryScores: [String: Float]
    /// Warden extra: the text was longer than the model's input and was cut (truncate policy).
    public var truncated: Bool?
    /// Warden extra: number of overlapping windows scored for a long text (windows policy; 1 when short).
    public var windows: Int?

    enum CodingKeys: String, CodingKey {
        case flagged, categories, truncated, windows
        case categoryScores = "category_scores"
    }

    public init(flagged: Bool, categories: [String: Bool], categoryScores: [String: Float], truncated: Bool? = nil, windows: Int? = nil) {
        self.flagged = flagged
        self.categories = categories
        self.categoryScores = categoryScores
        self.truncated = truncated
        self.windows = windows
    }
}

/// Body of every error answer: `{"error": {"message", "type", "code"}}`.
public struct ErrorResponse: Codable, Sendable, Equatable, Error {
    public struct Detail: Codable, Sendable, Equatable {
        /// What went wrong, in words a user can act on.
        public var message: String
        /// Broad class: `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`, …
        public var type: String
        /// Stable machine-readable code, e.g. `invalid_json`, `too_many_inputs`, `overloaded`.
        public var code: String

        public init(message: String, type: String, code: String) {
            self.message = message
            self.type = type
            self.code = code
        }
    }

    public var error: Detail

    public init(message: String, type: String, code: String) {
        self.error = Detail(message: message, type: type, code: code)
    }
}

/// Body of `GET /v1/models`.
public struct ModelList: Codable, Sendable, Equatable {
    public var object: String
    public var data: [ModelInfo]

    public init(data: [ModelInfo]) {
        self.object = "list"
        self.data = data
    }
}

/// A served model: its labels, default thresholds and limits.
public struct ModelInfo: Codable, Sendable, Equatable {
    public var id: String
    public var object: String
    public var version: String
    public var labels: [String]
    public var thresholds: [String: Float]
    public var maxSequenceLength: Int
    public var precision: String

    enum CodingKeys: String, CodingKey {
        case id, object, version, labels, thresholds, precision
        case maxSequenceLength = "max_sequence_length"
    }

    public init(id: String, version: String, labels: [String], thresholds: [String: Float], maxSequenceLength: Int, precision: String) {
        self.id = id
        self.object = "model"
        self.version = version
        self.labels = labels
        self.thresholds = thresholds
        self.maxSequenceLength = maxSequenceLength
        self.precision = precision
    }
}

/// Header names Warden adds to moderation responses.
public enum WardenHeader {
    /// Per-stage timings in the standard `Server-Timing` form: `tokenize;dur=0.12, queue;dur=1.3, inference;dur=8.1`.
    public static let serverTiming = "Server-Timing"
    /// The request id (also the response body's `id`).
    public static let requestID = "X-Request-Id"
    /// Seconds to wait before retrying after a 429 or 503.
    public static let retryAfter = "Retry-After"
}

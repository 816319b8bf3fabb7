/// Body of a successful `POST /v1/moderations`: OpenAI's moderation response shape.
public struct ModerationResponse: Codable, Sendable, Equatable {
    /// A unique id for this request (`modr-…`); also sent as the `X-Request-Id` header.
    public var id: String
    /// The model that scored the texts.
    public var model: String
    /// One result per input text, in input order.
    public var results: [ModerationResult]
    /// Warden extra: the policy that decided the flags (the request's, its API key's or the default one);
    /// absent when the model's own thresholds decided.
    public var policy: String?

    public init(id: String, model: String, results: [ModerationResult], policy: String? = nil) {
        self.id = id
        self.model = model
        self.results = results
        self.policy = policy
    }
}

/// The verdict for one text.
public struct ModerationResult: Codable, Sendable, Equatable {
    /// True when any category's score reached its threshold.
    public var flagged: Bool
    /// Per category: score >= threshold. Keys are OpenAI's category names where the model declares one
    /// (`harassment`, `hate`, …), else the model's label (`spam`).
    public var categories: [String: Bool]
    /// Per category: the model's probability in [0, 1].
    public var categoryScores: [String: Float]
    /// Per category: the input types it was scored on (`["text"]`), as OpenAI's API reports them.
    public var categoryAppliedInputTypes: [String: [String]]?
    /// Warden extra: the text was longer than the model's input and was cut (truncate policy).
    public var truncated: Bool?
    /// Warden extra: number of overlapping windows scored for a long text (windows policy; 1 when short).
    public var windows: Int?
    /// Warden extra, under a policy: what the client should do with this text: `allow` when the policy
    /// does not flag it, else the policy's action (`mask`, `hold` or `block`, or `allow` for a policy that
    /// only records).
    public var action: String?
    /// Warden extra, when the request asked to `explain`: per flagged category, the spans of the original
    /// text that raised its score the most, biggest first.
    public var highlights: [String: [Highlight]]?

    enum CodingKeys: String, CodingKey {
        case flagged, categories, truncated, windows, action, highlights
        case categoryScores = "category_scores"
        case categoryAppliedInputTypes = "category_applied_input_types"
    }

    public init(
        flagged: Bool, categories: [String: Bool], categoryScores: [String: Float],
        categoryAppliedInputTypes: [String: [String]]? = nil, truncated: Bool? = nil, windows: Int? = nil,
        action: String? = nil, highlights: [String: [Highlight]]? = nil
    ) {
        self.flagged = flagged
        self.categories = categories
        self.categoryScores = categoryScores
        self.categoryAppliedInputTypes = categoryAppliedInputTypes
        self.truncated = truncated
        self.windows = windows
        self.action = action
        self.highlights = highlights
    }
}

/// A span of the original text that raised a category's score: `[start, end)` in UTF-16 code units (what
/// JavaScript's `String.slice` takes), never cutting a character, an emoji or a letter from its accents.
public struct Highlight: Codable, Sendable, Equatable {
    /// First UTF-16 offset of the span in the original text.
    public var start: Int
    /// UTF-16 offset just past the span.
    public var end: Int
    /// The span's text, as in the original.
    public var text: String
    /// How far the category's score fell when the span was taken out of the text.
    public var drop: Float

    public init(start: Int, end: Int, text: String, drop: Float) {
        self.start = start
        self.end = end
        self.text = text
        self.drop = drop
    }
}

/// Body of `GET /v1/policies`: the named policies a request may choose with `"policy"`.
public struct PolicyList: Codable, Sendable, Equatable {
    public var object: String
    public var data: [PolicyInfo]
    /// The policy of requests that name none (and whose API key carries none); nil: the model's thresholds.
    public var defaultPolicy: String?

    enum CodingKeys: String, CodingKey {
        case object, data
        case defaultPolicy = "default"
    }

    public init(data: [PolicyInfo], defaultPolicy: String?) {
        self.object = "list"
        self.data = data
        self.defaultPolicy = defaultPolicy
    }
}

/// One named policy as `GET /v1/policies` lists it.
public struct PolicyInfo: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    /// `allow`, `mask`, `hold` or `block`: what a client should do with a text this policy flags.
    public var action: String
    /// Per category (OpenAI name where the model declares one): the threshold in force under this policy.
    public var thresholds: [String: Float]
    /// The categories that flag under this policy.
    public var flagging: [String]

    public init(name: String, description: String?, action: String, thresholds: [String: Float], flagging: [String]) {
        self.name = name
        self.description = description
        self.action = action
        self.thresholds = thresholds
        self.flagging = flagging
    }
}

/// Body of every error answer, in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`; `param`
/// names the request field at fault (`input`, `input[3]`, `thresholds`, …) or is null.
public struct ErrorResponse: Codable, Sendable, Equatable, Error {
    public struct Detail: Codable, Sendable, Equatable {
        /// What went wrong, in words a user can act on.
        public var message: String
        /// Broad class: `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`, …
        public var type: String
        /// Stable machine-readable code, e.g. `invalid_json`, `too_many_inputs`, `overloaded`.
        public var code: String
        /// The request field at fault, or nil (encoded as null, as OpenAI does).
        public var param: String?

        enum CodingKeys: String, CodingKey { case message, type, code, param }

        public init(message: String, type: String, code: String, param: String? = nil) {
            self.message = message
            self.type = type
            self.code = code
            self.param = param
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(param, forKey: .param)
            try container.encode(code, forKey: .code)
        }
    }

    public var error: Detail

    public init(message: String, type: String, code: String, param: String? = nil) {
        self.error = Detail(message: message, type: type, code: code, param: param)
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

/// A served model: its labels, the OpenAI categories they implement, default thresholds and limits.
public struct ModelInfo: Codable, Sendable, Equatable {
    public var id: String
    public var object: String
    public var version: String
    /// The model's labels, in output order.
    public var labels: [String]
    /// Per label, the name it answers under: its OpenAI category where the model declares one, else itself.
    public var categories: [String: String]
    /// Which of OpenAI's moderation categories the model covers, and which it does not.
    public var openAICategories: OpenAICategoryCoverage
    /// Default thresholds, by label.
    public var thresholds: [String: Float]
    public var maxSequenceLength: Int
    /// The precision the model computes in: once loaded, the plan in use (`--precision`), before that the
    /// precision the bundle is stored in.
    public var precision: String
    /// When the model began serving (ISO 8601, UTC); absent before it is loaded.
    public var loadedAt: String?
    /// Seconds from the start of its load to serving (loading and warm-up).
    public var loadSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case id, object, version, labels, categories, thresholds, precision
        case loadedAt = "loaded_at"
        case loadSeconds = "load_seconds"
        case openAICategories = "openai_categories"
        case maxSequenceLength = "max_sequence_length"
    }

    public init(
        id: String, version: String, labels: [String], categories: [String: String], openAICategories: OpenAICategoryCoverage,
        thresholds: [String: Float], maxSequenceLength: Int, precision: String, loadedAt: String? = nil, loadSeconds: Double? = nil
    ) {
        self.id = id
        self.object = "model"
        self.version = version
        self.labels = labels
        self.categories = categories
        self.openAICategories = openAICategories
        self.thresholds = thresholds
        self.maxSequenceLength = maxSequenceLength
        self.precision = precision
        self.loadedAt = loadedAt
        self.loadSeconds = loadSeconds
    }
}

/// Which of OpenAI's moderation categories a model scores.
public struct OpenAICategoryCoverage: Codable, Sendable, Equatable {
    /// OpenAI categories the model has a label for.
    public var covered: [String]
    /// OpenAI categories the model does not score: an OpenAI client reading them gets nothing.
    public var notCovered: [String]

    enum CodingKeys: String, CodingKey {
        case covered
        case notCovered = "not_covered"
    }

    public init(covered: [String], notCovered: [String]) {
        self.covered = covered
        self.notCovered = notCovered
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

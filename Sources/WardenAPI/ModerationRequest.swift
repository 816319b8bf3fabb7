/// Body of `POST /v1/moderate`: OpenAI's moderation request, plus optional Warden extras.
///
/// `{"input": "text"}` or `{"input": ["a", "b"]}` (+ optional `model`) is exactly OpenAI's shape, so a
/// client of that API can switch to Warden by changing its base URL.
public struct ModerationRequest: Codable, Sendable, Equatable {
    /// The text(s) to score.
    public var input: ModerationInput
    /// Model name; optional. When given it must be the served model's name.
    public var model: String?
    /// Warden extra: per-label decision thresholds overriding the model's defaults for this request.
    public var thresholds: [String: Float]?
    /// Warden extra: `interactive` (latency first; default for 1–8 texts) or `bulk` (throughput first;
    /// default for larger arrays).
    public var lane: String?
    /// Warden extra: give up (HTTP 504) if the texts are not scored within this many milliseconds.
    public var deadlineMs: Int?

    enum CodingKeys: String, CodingKey {
        case input, model, thresholds, lane
        case deadlineMs = "deadline_ms"
    }

    public init(input: ModerationInput, model: String? = nil, thresholds: [String: Float]? = nil,
                lane: String? = nil, deadlineMs: Int? = nil) {
        self.input = input
        self.model = model
        self.thresholds = thresholds
        self.lane = lane
        self.deadlineMs = deadlineMs
    }
}

/// `input`: one string or an array of strings.
public enum ModerationInput: Codable, Sendable, Equatable {
    case single(String)
    case batch([String])

    /// The texts, in order.
    public var texts: [String] {
        switch self {
        case .single(let text): [text]
        case .batch(let texts): texts
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .single(text)
        } else if let texts = try? container.decode([String].self) {
            self = .batch(texts)
        } else {
            throw DecodingError.typeMismatch(
                ModerationInput.self,
                .init(codingPath: decoder.codingPath, debugDescription: "`input` must be a string or an array of strings"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let text): try container.encode(text)
        case .batch(let texts): try container.encode(texts)
        }
    }
}

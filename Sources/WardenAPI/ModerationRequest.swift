/// Body of `POST /v1/moderations` (and its alias `/v1/moderate`): OpenAI's moderation request, plus optional
/// Warden extras.
///
/// `input` is a string, an array of strings, or an array of content parts, exactly as OpenAI accepts it, and
/// `model` is accepted, so a client of that API (the official SDKs included) can switch to Warden by changing
/// its base URL.
public struct ModerationRequest: Codable, Sendable, Equatable {
    /// The text(s) to score.
    public var input: ModerationInput
    /// Model name; optional and accepted whatever it names: the served model answers, and the response's
    /// `model` says which one that is.
    public var model: String?
    /// Warden extra: per-label decision thresholds overriding the model's defaults for this request.
    public var thresholds: [String: Float]?
    /// Warden extra: `interactive` (latency first; default for 1–8 texts) or `bulk` (throughput first;
    /// default for larger arrays).
    public var lane: Lane?
    /// Warden extra: give up (HTTP 504) if the texts are not scored within this many milliseconds.
    public var deadlineMs: Int?
    /// Warden extra: the named policy (see `GET /v1/policies`) whose thresholds, flagging categories and
    /// action decide; the request's own `thresholds` still override it label by label.
    public var policy: String?
    /// Warden extra: for each flagged category, return the spans of the text that made it flagged
    /// (`highlights`). Costs about one extra scoring per word.
    public var explain: Bool?

    enum CodingKeys: String, CodingKey {
        case input, model, thresholds, lane, policy, explain
        case deadlineMs = "deadline_ms"
    }

    /// Decodes as synthesised, except that a `deadline_ms` which is a number but not a whole number of
    /// milliseconds that fits an `Int` (1.5, 1e308, 2^64) is refused with an error that names the field.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        input = try container.decode(ModerationInput.self, forKey: .input)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        thresholds = try container.decodeIfPresent([String: Float].self, forKey: .thresholds)
        lane = try container.decodeIfPresent(Lane.self, forKey: .lane)
        policy = try container.decodeIfPresent(String.self, forKey: .policy)
        explain = try container.decodeIfPresent(Bool.self, forKey: .explain)
        if let whole = try? container.decodeIfPresent(Int.self, forKey: .deadlineMs) {
            deadlineMs = whole
        } else if (try? container.decodeIfPresent(Double.self, forKey: .deadlineMs)) != nil {
            throw DecodingError.dataCorruptedError(
                forKey: .deadlineMs, in: container,
                debugDescription: "must be a whole number of milliseconds")
        } else {
            deadlineMs = try container.decodeIfPresent(Int.self, forKey: .deadlineMs)
        }
    }

    public init(
        input: ModerationInput, model: String? = nil, thresholds: [String: Float]? = nil,
        lane: Lane? = nil, deadlineMs: Int? = nil, policy: String? = nil, explain: Bool? = nil
    ) {
        self.input = input
        self.model = model
        self.thresholds = thresholds
        self.lane = lane
        self.deadlineMs = deadlineMs
        self.policy = policy
        self.explain = explain
    }
}

/// `input`: one string, an array of strings (one result each), or an array of content parts (one input,
/// one result: its text parts are scored together).
public enum ModerationInput: Codable, Sendable, Equatable {
    case single(String)
    case batch([String])
    case parts([ContentPart])

    /// The texts, in order: for content parts, their text parts joined by newlines (one text). Check
    /// ``unsupportedPart`` first: image parts are not text.
    public var texts: [String] {
        switch self {
        case .single(let text): [text]
        case .batch(let texts): texts
        case .parts(let parts): [parts.compactMap { $0.type == ContentPart.textType ? $0.text : nil }.joined(separator: "\n")]
        }
    }

    /// The index of the first content part that is not a text part (an image, or a type Warden does not know).
    public var unsupportedPart: (index: Int, type: String)? {
        guard case .parts(let parts) = self else { return nil }
        for (index, part) in parts.enumerated() where part.type != ContentPart.textType || part.text == nil {
            return (index, part.type)
        }
        return nil
    }

    /// Whether `input` was an empty array.
    public var isEmptyArray: Bool {
        switch self {
        case .single: false
        case .batch(let texts): texts.isEmpty
        case .parts(let parts): parts.isEmpty
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .single(text)
        } else if let texts = try? container.decode([String].self) {
            self = .batch(texts)
        } else if let parts = try? container.decode([ContentPart].self) {
            self = .parts(parts)
        } else {
            throw DecodingError.typeMismatch(
                ModerationInput.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "`input` must be a string, an array of strings, or an array of content parts ({\"type\": \"text\", \"text\": …})"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let text): try container.encode(text)
        case .batch(let texts): try container.encode(texts)
        case .parts(let parts): try container.encode(parts)
        }
    }
}

/// One content part of a multi-part input, as OpenAI's moderation API takes it: `{"type": "text", "text": …}`
/// or `{"type": "image_url", "image_url": {"url": …}}`. Warden scores text parts only.
public struct ContentPart: Codable, Sendable, Equatable {
    /// The `type` of a text part.
    public static let textType = "text"

    /// `text`, `image_url`, …
    public var type: String
    /// The text of a text part.
    public var text: String?
    /// The image of an `image_url` part (never scored by Warden).
    public var imageURL: ImageURL?

    /// The `image_url` member of an image part.
    public struct ImageURL: Codable, Sendable, Equatable {
        public var url: String?
        public init(url: String?) { self.url = url }
    }

    enum CodingKeys: String, CodingKey {
        case type, text
        case imageURL = "image_url"
    }

    public init(type: String, text: String? = nil, imageURL: ImageURL? = nil) {
        self.type = type
        self.text = text
        self.imageURL = imageURL
    }

    /// A text part.
    public static func text(_ text: String) -> ContentPart { ContentPart(type: textType, text: text) }
}

/// A queue lane as the request names it: `interactive` (latency first: chat messages) or `bulk` (throughput
/// first: history, files, large batches; never starved by interactive traffic). Any string decodes, so that
/// the server can refuse an unknown lane with `invalid_lane` naming it, rather than as malformed JSON.
public struct Lane: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Latency first: chat messages.
    public static let interactive = Lane(rawValue: "interactive")
    /// Throughput first: re-scoring history, files, large batches.
    public static let bulk = Lane(rawValue: "bulk")
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

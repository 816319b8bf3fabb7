import WardenAPI

extension WardenClient {
    /// Per-call options: Warden's optional extras to OpenAI's request shape.
    ///
    /// Nested in ``WardenClient``: the engine's own options are `Moderator.Options`.
    public struct ModerationOptions: Sendable, Equatable {
        /// Which queue lane scores the texts; nil lets Warden choose (interactive for 1–8 texts, bulk above).
        public var lane: Lane?
        /// Ask Warden to give up (504, ``WardenClientError/Code/deadlineExceeded``) when the texts are not scored
        /// within this time. Sent as `deadline_ms` (rounded up to whole milliseconds).
        public var deadline: Duration?
        /// Per-label thresholds overriding the model's defaults for this call, e.g. `["toxic": 0.8]`.
        public var thresholds: [String: Float]?
        /// Model name; Warden checks it against the model it serves. Needed for OpenAI (e.g. `omni-moderation-latest`).
        public var model: String?
        /// The named Warden policy that decides (`GET /v1/policies`); nil: the API key's, else Warden's default.
        public var policy: String?
        /// Ask for the spans that made each flagged category flag (``ModerationResult/highlights``), e.g. to
        /// ``WardenClient/mask(_:highlights:)`` them.
        public var explain: Bool?

        public init(
            lane: Lane? = nil, deadline: Duration? = nil, thresholds: [String: Float]? = nil, model: String? = nil, policy: String? = nil,
            explain: Bool? = nil
        ) {
            self.lane = lane
            self.deadline = deadline
            self.thresholds = thresholds
            self.model = model
            self.policy = policy
            self.explain = explain
        }

        /// Options for a chat message: the interactive lane.
        public static var interactive: ModerationOptions { .init(lane: .interactive) }
        /// Options for re-scoring history or files: the bulk lane.
        public static var bulk: ModerationOptions { .init(lane: .bulk) }
    }

    /// A Warden queue lane: the wire type of the request's `lane` field.
    public typealias Lane = WardenAPI.Lane
}

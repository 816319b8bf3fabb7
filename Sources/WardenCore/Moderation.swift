/// The value types of the ``Moderator`` façade: what a call asks for, and what it answers.
extension Moderator {
    /// Per-request options of ``Moderator/moderate(_:options:)``.
    public struct Options: Sendable, Hashable {
        /// The queue lane: `interactive` (chat, latency first) or `bulk` (files, throughput first); nil lets the
        /// moderator choose by cost: interactive when the request fits the interactive lane's per-request cap
        /// (``LaneSettings/maxRequestTokens``), else bulk.
        public var lane: Lane?
        /// Time allowed from the call; default the lane's `defaultDeadline`.
        public var deadline: Duration?
        /// Threshold overrides by label name (0...1); labels not named keep the model's default.
        public var thresholds: [String: Float]

        public init(lane: Lane? = nil, deadline: Duration? = nil, thresholds: [String: Float] = [:]) {
            self.lane = lane
            self.deadline = deadline
            self.thresholds = thresholds
        }
    }

    /// The moderation of one text.
    public struct Result: Sendable, Hashable {
        /// Probability per label, in the model's label order (the maximum over windows for long texts).
        public var scores: [Float]
        /// `scores[i] >= threshold[i]`, per label.
        public var flags: [Bool]
        /// Whether any label is flagged.
        public var flagged: Bool
        /// Whether some of the text was not scored (truncate policy, or more windows needed than allowed).
        public var truncated: Bool
        /// Number of model inputs (windows) the text was scored as; 1 for texts within the model's length.
        public var windows: Int
        /// Whether the scores came from the result cache.
        public var cached: Bool

        public init(scores: [Float], flags: [Bool], flagged: Bool, truncated: Bool, windows: Int, cached: Bool) {
            self.scores = scores
            self.flags = flags
            self.flagged = flagged
            self.truncated = truncated
            self.windows = windows
            self.cached = cached
        }
    }

    /// Where the time of one request went.
    public struct Timings: Sendable, Hashable {
        /// Normalisation, cache look-up and tokenization on the calling task.
        public var tokenize: Duration
        /// The longest wait of one of the request's model inputs in the batching queue.
        public var queue: Duration
        /// The longest backend call among the request's batches.
        public var inference: Duration

        public init(tokenize: Duration, queue: Duration, inference: Duration) {
            self.tokenize = tokenize
            self.queue = queue
            self.inference = inference
        }
    }

    /// The answer to one ``Moderator/moderate(_:options:)`` call: one result per input text, in input order.
    public struct Outcome: Sendable, Hashable {
        public var results: [Result]
        public var timings: Timings

        public init(results: [Result], timings: Timings) {
            self.results = results
            self.timings = timings
        }
    }
}

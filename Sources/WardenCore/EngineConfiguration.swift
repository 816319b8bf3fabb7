/// Everything a ``ModerationEngine`` needs besides the model bundle: how to batch, how to turn texts into
/// model inputs, how many workers, and what to warm up with. Every field has a default; `warden`'s help
/// texts quote them.
public struct EngineConfiguration: Sendable, Hashable {
    /// The queue and its owner: batch size, token budget, padding floor, lanes, admission.
    public var batching = BatchingConfiguration()
    /// Long texts and the result cache.
    public var moderator = ModeratorConfiguration()
    /// Backend workers: model copies, each running one batch at a time on its own thread. Default 2, the
    /// fastest and most stable on a 2-core machine with one torch thread per worker (docs/PERFORMANCE.md).
    public var workers: Int = 2
    /// Texts scored before the engine reports ready, so the first real request does not pay warm-up costs.
    public var warmUpTexts: [String] = EngineConfiguration.defaultWarmUpTexts

    /// The defaults described on each property.
    /// The start of the engine's metric names: `warden`, or `warden_shadow` for a shadow model's engine, so
    /// that its series never mix with the served model's.
    public var metricsPrefix: String = "warden"

    public init() {}

    /// Most workers one engine runs.
    public static let maxWorkers = 64

    /// Short, medium and long texts, so the warm-up touches several sequence lengths.
    public static let defaultWarmUpTexts: [String] = [
        "hello there",
        "thanks for the invite, see you all at the meeting tomorrow morning",
        String(repeating: "this is a longer warm-up message that spans many tokens of input. ", count: 12),
    ]

    /// Checks every value for a model of `maxSequenceLength` tokens.
    public func validate(maxSequenceLength: Int) throws(ConfigurationError) {
        try batching.validate(maxSequenceLength: maxSequenceLength)
        try moderator.validate(maxSequenceLength: maxSequenceLength)
        try ConfigurationError.check(
            (1...Self.maxWorkers).contains(workers), "workers",
            "must be between 1 and \(Self.maxWorkers), got \(workers)")
    }
}

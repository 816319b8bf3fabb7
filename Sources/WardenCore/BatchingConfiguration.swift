/// Settings of one ``Lane``.
public struct LaneSettings: Sendable, Hashable {
    /// The longest time the oldest waiting item of this lane waits for a batch to fill before the batch is
    /// closed anyway.
    public var maxQueueDelay: Duration
    /// The deadline of a request on this lane when the request names none: past it, items that have not
    /// reached the model are dropped and the request fails with ``ModerationError/Code/deadlineExceeded``.
    public var defaultDeadline: Duration
    /// The longest deadline a request on this lane may ask for; longer ones are cut to it, so one request
    /// cannot hold the lane's budget for long.
    public var maxDeadline: Duration
    /// This lane's admission budget: most tokens waiting in it. A flood on one lane cannot take the other's
    /// room (both also share ``BatchingConfiguration/maxQueuedTokens``).
    public var maxQueuedTokens: Int
    /// The most one request may cost on this lane, in tokens (its windows included). A larger request is
    /// refused with ``ModerationError/Code/requestTooLarge`` (or, when the caller left the lane to the
    /// engine, sent to the bulk lane), so one request cannot take the whole lane.
    public var maxRequestTokens: Int

    public init(maxQueueDelay: Duration, defaultDeadline: Duration, maxDeadline: Duration, maxQueuedTokens: Int, maxRequestTokens: Int) {
        self.maxQueueDelay = maxQueueDelay
        self.defaultDeadline = defaultDeadline
        self.maxDeadline = maxDeadline
        self.maxQueuedTokens = maxQueuedTokens
        self.maxRequestTokens = maxRequestTokens
    }
}

/// Tuning of the batching queue and its owner (``BatchQueue``, ``Batcher``): batch size, token budget,
/// padding floor, lanes and admission. Every field has a default suited to a small BERT-style model
/// (128 tokens) on a 2-core CPU machine; the help texts of `warden` quote these defaults. How texts become
/// model inputs (long texts, cache) is ``ModeratorConfiguration``; both travel in ``EngineConfiguration``.
public struct BatchingConfiguration: Sendable, Hashable {
    /// Most items (model inputs, i.e. rows) in one batch. Default 32.
    public var maxBatchSize: Int = 32
    /// Most padded tokens in one batch: `rows × longest row` never exceeds it, except that one item longer
    /// than the budget still runs alone. Default 4096 (= 32 × 128). Must be ≥ the model's maximum length.
    public var maxBatchTokens: Int = 4096
    /// Least padding efficiency (real tokens / padded tokens) a batch may fall to when an item joins it:
    /// an item that would pad the batch below this waits for a batch of its own length instead. On a CPU
    /// the cost of a batch is its padded tokens, so padding is compute thrown away. Default 0.9; 0 turns
    /// the floor off.
    public var minPaddingEfficiency: Double = 0.9
    /// The interactive lane (chat messages, latency first): 2 ms batching delay, 2 s default and 10 s longest
    /// deadline, 65,536 tokens waiting at most, 4,096 tokens per request at most (32 full windows).
    public var interactive = LaneSettings(
        maxQueueDelay: .milliseconds(2), defaultDeadline: .seconds(2), maxDeadline: .seconds(10),
        maxQueuedTokens: 65_536, maxRequestTokens: 4_096)
    /// The bulk lane (files, large arrays, throughput first): 10 ms batching delay, 60 s default and 600 s
    /// longest deadline, 524,288 tokens waiting at most, half of them for one request at most.
    public var bulk = LaneSettings(
        maxQueueDelay: .milliseconds(10), defaultDeadline: .seconds(60), maxDeadline: .seconds(600),
        maxQueuedTokens: 524_288, maxRequestTokens: 262_144)
    /// Bulk guarantee (reserved share): while bulk items wait, at least one in every `bulkShare` batches is
    /// seeded from the bulk lane, however busy the interactive lane is. Default 4 (bulk gets ≥ 25% of the
    /// batches under contention; all of them when interactive is idle). 1 makes the lanes alternate.
    public var bulkShare: Int = 4
    /// Whether batches pack several messages into each model row (``PackedTokenBatch``) instead of padding
    /// every message to the longest. Packing needs a model that declares a packed entry point; with `.auto`
    /// (the default) Warden packs whenever the model can, otherwise it pads.
    public var packing: Packing = .auto
    /// Tokens per packed row (row capacity). Messages are placed first-fit into rows of this size; a
    /// batch holds at most `maxBatchTokens / packedRowTokens` rows. A message longer than a row gets a row of
    /// its own. Default 128 (the model's longest input: attention cost grows with the square of the row).
    public var packedRowTokens: Int = 128
    /// How wide a packed batch's rows are. `.fitted` (the default): the engine fits a cost model of the packed
    /// forward at warm-up (``PackingCostModel``), and each batch's messages are packed into the row width, at
    /// most `packedRowTokens`, that the model finds cheapest, so batches of short messages get short rows.
    /// `.fixed`: rows of `packedRowTokens`, filled first-fit.
    public var packedRowWidth: RowWidth = .fitted
    /// A packing cost model to pack by with `.fitted` row widths, instead of the one the engine would fit at
    /// warm-up (nil: fit one). Set by a caller that fitted it once for several engines on the same backends.
    public var packingCost: PackingCostModel?
    /// The longest a bulk batch may take, at the measured rate of one worker: a bulk batch's token budget is
    /// cut to what a worker computes in this time (at least a quarter of `maxBatchTokens`), so an interactive
    /// message that arrives while every worker runs bulk work waits for at most about this long. Default
    /// 250 ms; zero turns the cap off.
    public var maxBulkBatchTime: Duration = .milliseconds(250)
    /// Admission bound: most items waiting in the queue (both lanes). Beyond it requests are refused at
    /// once with ``ModerationError/Code/overloaded`` and a retry hint. Default 8192.
    public var maxQueuedItems: Int = 8192
    /// Admission bound: most tokens (sum of item lengths) waiting in the queue. Default 524_288.
    public var maxQueuedTokens: Int = 524_288
    /// The defaults described on each property.
    public init() {}

    /// How batches are laid out for the model.
    public enum Packing: String, Sendable, Hashable, CaseIterable {
        /// Pack when the model declares a packed entry point; pad otherwise.
        case auto
        /// Always pad (one message per row).
        case off
    }

    /// How a packed batch's row width is chosen (``packedRowWidth``).
    public enum RowWidth: String, Sendable, Hashable, CaseIterable {
        /// The cheapest width by the cost model fitted at warm-up.
        case fitted
        /// Always `packedRowTokens`.
        case fixed
    }

    /// The settings of `lane`.
    public func settings(for lane: Lane) -> LaneSettings {
        switch lane {
        case .interactive: interactive
        case .bulk: bulk
        }
    }

    /// Checks that every value is usable with a model of `maxSequenceLength` tokens and that no item can
    /// get stuck in the queue (every single item fits the per-batch and admission budgets).
    public func validate(maxSequenceLength: Int) throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check(maxSequenceLength >= 2, "maxSequenceLength", "must be at least 2 ([CLS] and [SEP]), got \(maxSequenceLength)")
        try check(maxBatchSize > 0, "maxBatchSize", "must be positive, got \(maxBatchSize)")
        try check(
            maxBatchTokens >= maxSequenceLength, "maxBatchTokens",
            "must be at least the model's maximum sequence length \(maxSequenceLength), got \(maxBatchTokens)")
        try check((0...1).contains(minPaddingEfficiency), "minPaddingEfficiency", "must be between 0 and 1, got \(minPaddingEfficiency)")
        for lane in Lane.allCases {
            let s = settings(for: lane)
            try check(s.maxQueueDelay >= .zero, "\(lane).maxQueueDelay", "must not be negative")
            try check(s.defaultDeadline > .zero, "\(lane).defaultDeadline", "must be positive")
            try check(s.maxDeadline >= s.defaultDeadline, "\(lane).maxDeadline", "must be at least the lane's default deadline")
            try check(
                s.maxQueuedTokens >= maxSequenceLength, "\(lane).maxQueuedTokens",
                "must be at least the model's maximum sequence length \(maxSequenceLength), got \(s.maxQueuedTokens)")
            try check(
                s.maxRequestTokens >= maxSequenceLength && s.maxRequestTokens <= s.maxQueuedTokens, "\(lane).maxRequestTokens",
                "must be between the model's maximum sequence length \(maxSequenceLength) and the lane's budget \(s.maxQueuedTokens), got \(s.maxRequestTokens)"
            )
        }
        try check(
            packedRowTokens >= 2 && packedRowTokens <= maxBatchTokens, "packedRowTokens",
            "must be between 2 and maxBatchTokens \(maxBatchTokens), got \(packedRowTokens)")
        try check(maxBulkBatchTime >= .zero, "maxBulkBatchTime", "must not be negative")
        try check(bulkShare > 0, "bulkShare", "must be positive (1 = alternate lanes), got \(bulkShare)")
        try check(maxQueuedItems > 0, "maxQueuedItems", "must be positive, got \(maxQueuedItems)")
        try check(
            maxQueuedTokens >= maxSequenceLength, "maxQueuedTokens",
            "must be at least the model's maximum sequence length \(maxSequenceLength), got \(maxQueuedTokens)")
    }
}

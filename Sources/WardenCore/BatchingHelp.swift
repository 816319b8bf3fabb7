/// The help of the command line's batching, long-text and cache flags, beside the settings they set: each
/// default is quoted from ``EngineConfiguration``.
public enum BatchingHelp {
    private static let engineDefaults = EngineConfiguration()

    public static let maxBatchSize = "Most items in one model call (env WARDEN_MAX_BATCH_SIZE; default \(engineDefaults.batching.maxBatchSize))."
    public static let maxBatchTokens =
        "Most padded tokens (items x longest) in one model call (env WARDEN_MAX_BATCH_TOKENS; default \(engineDefaults.batching.maxBatchTokens))."
    public static let minPaddingEfficiency =
        "Least padding efficiency (real / padded tokens) an item may bring a batch down to, 0 turns it off (env WARDEN_MIN_PADDING_EFFICIENCY; default \(engineDefaults.batching.minPaddingEfficiency))."
    public static let packing =
        "Sequence packing: 'auto' packs several messages into each model row when the model declares a packed entry point, 'off' always pads (env WARDEN_PACKING; default \(engineDefaults.batching.packing.rawValue))."
    public static let packedRowTokens =
        "Tokens per packed model row, at most (env WARDEN_PACKED_ROW_TOKENS; default \(engineDefaults.batching.packedRowTokens))."
    public static let packedRowWidth =
        "Packed row width: 'fitted' packs each batch into the row width a cost model fitted at warm-up finds cheapest (short rows for short messages), 'fixed' always uses --packed-row-tokens (env WARDEN_PACKED_ROW_WIDTH; default \(engineDefaults.batching.packedRowWidth.rawValue))."
    public static let maxQueueDelayMs =
        "Longest wait of an interactive item for a fuller batch, ms (env WARDEN_MAX_QUEUE_DELAY_MS; default \(engineDefaults.batching.interactive.maxQueueDelay.millisecondsText))."
    public static let bulkMaxQueueDelayMs =
        "Longest wait of a bulk item for a fuller batch, ms (env WARDEN_BULK_MAX_QUEUE_DELAY_MS; default \(engineDefaults.batching.bulk.maxQueueDelay.millisecondsText))."
    public static let bulkMaxBatchMs =
        "Longest a bulk batch may take at the measured rate, ms, so that chat messages wait behind little bulk work; 0 turns the cap off (env WARDEN_BULK_MAX_BATCH_MS; default \(engineDefaults.batching.maxBulkBatchTime.millisecondsText))."
    public static let interactiveDeadlineMs =
        "Default deadline of interactive requests, ms (env WARDEN_INTERACTIVE_DEADLINE_MS; default \(engineDefaults.batching.interactive.defaultDeadline.millisecondsText))."
    public static let bulkDeadlineMs =
        "Default deadline of bulk requests, ms (env WARDEN_BULK_DEADLINE_MS; default \(engineDefaults.batching.bulk.defaultDeadline.millisecondsText))."
    public static let interactiveMaxDeadlineMs =
        "Longest deadline an interactive request may ask for, ms (env WARDEN_INTERACTIVE_MAX_DEADLINE_MS; default \(engineDefaults.batching.interactive.maxDeadline.millisecondsText))."
    public static let bulkMaxDeadlineMs =
        "Longest deadline a bulk request may ask for, ms (env WARDEN_BULK_MAX_DEADLINE_MS; default \(engineDefaults.batching.bulk.maxDeadline.millisecondsText))."
    public static let interactiveMaxQueuedTokens =
        "The interactive lane's budget: most tokens waiting in it (env WARDEN_INTERACTIVE_MAX_QUEUED_TOKENS; default \(engineDefaults.batching.interactive.maxQueuedTokens))."
    public static let interactiveMaxRequestTokens =
        "Most tokens one interactive request may cost; a larger one is refused, or sent to bulk when it named no lane (env WARDEN_INTERACTIVE_MAX_REQUEST_TOKENS; default \(engineDefaults.batching.interactive.maxRequestTokens))."
    public static let bulkMaxRequestTokens =
        "Most tokens one bulk request may take of the queue (env WARDEN_BULK_MAX_REQUEST_TOKENS; default \(engineDefaults.batching.bulk.maxRequestTokens))."
    public static let maxQueuedItems = "Admission bound: most items waiting (env WARDEN_MAX_QUEUED_ITEMS; default \(engineDefaults.batching.maxQueuedItems))."
    public static let maxQueuedTokens =
        "Admission bound: most tokens waiting, both lanes; also the bulk lane's budget (env WARDEN_MAX_QUEUED_TOKENS; default \(engineDefaults.batching.maxQueuedTokens))."
    public static let longText =
        "Texts longer than the model: 'windows' (score overlapping windows, take the max) or 'truncate' (env WARDEN_LONG_TEXT; default \(engineDefaults.moderator.longTextPolicy.name))."
    public static let maxWindows = "Most windows scored per long text (env WARDEN_MAX_WINDOWS; default \(engineDefaults.moderator.maxWindowsPerText))."
    public static let flagPartial =
        "Flag a text that was only partly scored (longer than --max-windows cover) whatever its scores (env WARDEN_FLAG_PARTIAL; default off)."
    public static let cacheSize =
        "Entries in the cache of recent results, 0 turns it off (env WARDEN_CACHE_SIZE; default \(engineDefaults.moderator.cacheCapacity))."
}

import WardenCore

/// The help of `warden tune`'s flags, beside the grid they set: defaults are quoted from ``TuneGrid``.
public enum TuneHelp {
    /// The corpus of a run without --corpus.
    public static let defaultCorpus = "Benchmarks/corpus/chat.txt"
    /// The script that draws the chart of --png.
    public static let chartScript = "scripts/tune_chart.py"

    public static let batchSizes = "Comma-separated maxBatchSize values."
    public static let delays = "Comma-separated maxQueueDelay values in ms (interactive lane)."
    public static let layouts =
        "Comma-separated batch layouts: 'padded' and/or 'packedN' (messages packed into rows of at most N tokens, at the row widths a cost model fitted once per precision finds cheapest, as the server packs them; needs a model with a packed entry point). Default: padded,packed\(EngineConfiguration().batching.packedRowTokens) when the model can pack, else padded."
    public static let threads = "Comma-separated WORKERSxTORCHxBLAS thread combinations, e.g. 1x1x2,1x2x1,2x1x1."
    public static let precisions =
        "Comma-separated precisions: bf16 and/or fp32. Default: --precision when it names one, else every precision --precision auto chooses from (bf16,fp32 for a model stored in bf16)."
    public static let maxBatchTokens = "Most padded tokens per model call (maxBatchTokens)."
    public static let minPaddingEfficiency = "Least padding efficiency an item may bring a batch down to (minPaddingEfficiency; default the engine's)."
    public static let concurrency = "Concurrent single-message callers (closed loop)."
    public static let seconds = "Measured seconds per cell."
    public static let warmup = "Warm-up seconds per cell (discarded)."
    public static let rounds =
        "Repeat the whole grid this many times, interleaved; figures are pooled over rounds, so one lucky cell on a noisy machine does not win the recommendation."
    public static let corpus = "Messages, one per line (default \(defaultCorpus), made by scripts/make_chat_corpus.py)."
    public static let p99Ms = "Latency target for the recommendation: p99 per call in ms."
    public static let cacheSize = "Result-cache entries during the run (0: off, every message is computed)."
    public static let csv = "Write the table as CSV to this file."
    public static let png = "Write a PNG chart (throughput and p99 against batch size) with \(chartScript)."
    public static let seed = "Random seed for message draws."
}

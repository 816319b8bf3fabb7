/// The help of `warden score`'s flags, beside the settings they set: each default is quoted from
/// ``ScoreRun``, ``ScoreJobSettings`` or ``ReaderSettings``.
public enum ScoreHelp {
    public static let input = "Input file, or '-' for standard input (default). Gzip input is detected by its first bytes."
    public static let output = "Output file, or '-' for standard output (default)."
    public static let format =
        "Input format: text (one message per line), jsonl or csv. Default: from the extension (.jsonl/.ndjson/.json, .csv, anything else is text; .gz ignored); text for standard input."
    public static let outputFormat = "Output format: jsonl or csv. Default: csv for a .csv output file, else jsonl."
    public static let textField = "JSON Lines member holding the text; the other members are carried to the output."
    public static let textColumn = "CSV column holding the text (the first row is the header); the other columns are carried to the output."
    public static let idField = "JSON Lines member carried into CSV output as the record's id."
    public static let includeText = "Write the text into each output record too."
    public static let onlyFlagged = "Write only flagged records (and error records)."
    public static let explain =
        "Explain flagged records: write highlights, per flagged label the spans of the text (UTF-16 offsets) that made it flagged, as the API's explain does. About one more scoring per word of each flagged record; JSON Lines output only."
    public static let thresholds = "Flag threshold for one label, overriding the model's (repeatable)."
    public static let skipInvalid = "Leave bad input records out of the output instead of writing error records (they still count as failed)."
    public static let resume =
        "Continue an interrupted run (from OUTPUT.partial if there is one, else the output file): keep its complete records, score the records that failed to score again, and score the rest of the input."
    public static let maxRecords = "Score at most this many records (after those skipped by --resume)."
    public static let groupSize = "Records per engine submission (default: \(ScoreRun.groupBatches) x the maximum batch size)."
    public static let window = "Most records submitted to the engine and not yet answered (default \(ScoreJobSettings().window))."
    public static let reorderLimit =
        "Most records read but not yet written, waiting for an earlier group; bounds memory (default \(ScoreRun.reorderWindows) x --window)."
    public static let maxRecordBytes = "Longest record in bytes; a longer one becomes an error record (default \(ReaderSettings.defaultMaxRecordBytes))."
    public static let maxBufferedBytes =
        "Most bytes of records (texts and carried fields) read but not yet written; bounds memory whatever the record sizes, beside --window and --reorder-limit. At least --max-record-bytes (default \(ScoreJobSettings().maxBufferedBytes), \(ScoreJobSettings().maxBufferedBytes >> 20) MiB)."
    public static let progress = "Show progress on standard error even when it is not a terminal."
    public static let quiet = "No progress and no summary line."
    public static let summaryJson = "Also write the summary as JSON to this file."
}

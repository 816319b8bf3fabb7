/// How a ``ScoreJob`` feeds the engine and what it writes.
public struct ScoreJobSettings: Sendable {
    /// Records per `Moderator.moderate` call (one queue admission); a few model batches' worth, so the
    /// bulk batches stay full.
    public var groupSize = 64
    /// Most records submitted to the engine and not yet answered: keeps the bulk queue full enough for
    /// full batches without making it deep (a deep queue costs batch planning time).
    public var window = 1024
    /// Most records read but not yet written (submitted, or answered and waiting for an earlier group to be
    /// written): the bound on memory in records (``maxBufferedBytes`` bounds it in bytes). A group with a long
    /// text can finish after later groups; this slack lets the engine go on meanwhile.
    public var reorderLimit = 8192
    /// Most bytes of text and carried fields (``InputRecord/heldBytes``) read but not yet written: the bound on
    /// memory that holds whatever the record sizes, beside the record counts above. A record is read only
    /// while a record of the reader's largest size (``ReaderSettings/maxRecordBytes``) would still fit, so the
    /// job never holds more than this as long as it is at least that size. Default 64 MiB.
    public var maxBufferedBytes = 64 << 20
    /// Write only flagged records (and error records).
    public var onlyFlagged = false
    /// Explain flagged records: each gets `highlights`, per flagged label the spans of its text that made it
    /// flagged, as the API's `explain` gives them (JSON Lines output only).
    public var explain = false
    /// Leave bad input records out of the output (not records that failed to score); they still count as failed.
    public var skipInvalid = false
    /// Stop after this many records of this run (nil: the whole input).
    public var maxRecords: Int?
    /// Skip this many leading records (`--resume`: the output already has them).
    public var resumeAfter = 0
    /// Draw the progress line on standard error.
    public var progress = false
    /// Flush the output at least this often, so that an interrupted run loses little.
    public var flushInterval: Duration = .seconds(1)

    public init() {}
}

/// Running totals of one `warden score` run.
public struct ScoreTally: Sendable, Equatable {
    /// Records read from the input in this run (skipped-for-resume ones not included).
    public var records = 0
    /// Records scored by the model.
    public var scored = 0
    /// Scored records with at least one flag.
    public var flagged = 0
    /// Scored records of which part was not scored (a long text cut, or needing more windows than allowed).
    public var truncated = 0
    /// Per label, in label order.
    public var flaggedPerLabel: [Int]
    /// Bad records by error code (invalid input and scoring failures).
    public var failedByCode: [String: Int] = [:]
    /// Bad records left out of the output (`--skip-invalid`).
    public var skippedInvalid = 0
    /// Records written to the output.
    public var written = 0
    /// The input record number of the last record handled.
    public var lastRecord = 0
    /// Records skipped because a previous run already wrote them (`--resume`).
    public var resumedAfter = 0
    /// Records that failed to score in the previous run and were scored again (`--resume`; counted in
    /// ``records`` and the other totals too).
    public var retried = 0
    /// The most bytes of records (``InputRecord/heldBytes``) held at once, read and not yet written: at most
    /// ``ScoreJobSettings/maxBufferedBytes``.
    public var bufferedBytesHighWater = 0

    /// Bad records in all (``failedByCode`` summed).
    public var failed: Int { failedByCode.values.reduce(0, +) }

    public init(labelCount: Int) {
        flaggedPerLabel = Array(repeating: 0, count: labelCount)
    }
}

/// Why one input record cannot be scored. Written as an error record (or skipped with `--skip-invalid`).
public struct RecordError: Sendable, Equatable {
    /// Stable, machine-readable: invalid_utf8, invalid_json, duplicate_key,
    /// malformed_csv, missing_field, invalid_field,
    /// empty_text, record_too_long, scoring_failed.
    public var code: String
    /// Human-readable detail (with a byte offset where there is one).
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

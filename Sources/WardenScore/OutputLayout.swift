/// What each output record holds besides the scores.
public struct OutputLayout: Sendable {
    public var format: OutputFormat
    /// The model's labels, in score order.
    public var labels: [String]
    /// CSV output: the carried columns, in order (CSV input: its other columns; JSON Lines input: the id
    /// field; text input: none). See ``RecordReader/carriedColumns``.
    public var carriedColumns: [String]
    /// Write each record's text too (`--include-text`).
    public var includeText: Bool

    public init(format: OutputFormat, labels: [String], carriedColumns: [String], includeText: Bool) {
        self.format = format
        self.labels = labels
        self.carriedColumns = carriedColumns
        self.includeText = includeText
    }
}

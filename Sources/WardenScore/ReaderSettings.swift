/// What the reader needs to know about the input.
public struct ReaderSettings: Sendable {
    public var format: InputFormat
    /// JSON Lines member holding the text.
    public var textField: String
    /// CSV column holding the text (named in the header row).
    public var textColumn: String
    /// JSON Lines member carried into CSV output.
    public var idField: String
    /// Largest record in bytes; a longer one becomes a `record_too_long` error and is skipped over
    /// without being held in memory.
    public var maxRecordBytes: Int
    /// The default of ``maxRecordBytes``: 1 MiB.
    public static let defaultMaxRecordBytes = 1 << 20

    public init(
        format: InputFormat, textField: String = "text", textColumn: String = "text", idField: String = "id",
        maxRecordBytes: Int = defaultMaxRecordBytes
    ) {
        self.format = format
        self.textField = textField
        self.textColumn = textColumn
        self.idField = idField
        self.maxRecordBytes = maxRecordBytes
    }
}

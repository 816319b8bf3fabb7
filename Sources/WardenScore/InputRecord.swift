/// One input record: its number (1-based, counting every record, bad ones too), the line it starts on,
/// and either its text or why it is bad.
public struct InputRecord: Sendable {
    /// 1-based position among the records of the input (blank JSON Lines / CSV lines are not records).
    public var number: Int
    /// 1-based line of the input where the record starts.
    public var line: Int
    /// The text to score; nil for a bad record.
    public var text: String?
    /// The other fields, carried to the output in input order.
    public var fields: [CarriedField]
    /// Why the record cannot be scored; nil for a good one.
    public var error: RecordError?
    /// How far into the input this record ends, for the progress percentage.
    public var inputOffset: Int64

    public init(number: Int, line: Int, text: String?, fields: [CarriedField] = [], error: RecordError? = nil, inputOffset: Int64 = 0) {
        self.number = number
        self.line = line
        self.text = text
        self.fields = fields
        self.error = error
        self.inputOffset = inputOffset
    }

    /// Bytes of text and carried fields this record holds in memory: at most its length in the input, so at
    /// most ``ReaderSettings/maxRecordBytes``.
    public var heldBytes: Int {
        fields.reduce(text?.utf8.count ?? 0) { total, field in
            switch field.value {
            case .json(let raw): total + field.name.utf8.count + raw.count
            case .string(let string): total + field.name.utf8.count + string.utf8.count
            }
        }
    }
}

/// A carried input field (JSON Lines member or CSV column) copied to the output.
public struct CarriedField: Sendable, Equatable {
    /// A field's value as it is copied to the output.
    public enum Value: Sendable, Equatable {
        /// Raw JSON text of a non-string JSON value (number, object, …), copied verbatim.
        case json([UInt8])
        /// A string (a JSON string, decoded, or a CSV cell).
        case string(String)
    }
    /// The JSON member name or CSV column name.
    public var name: String
    public var value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }
}

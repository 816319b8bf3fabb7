/// A configuration value (``BatchingConfiguration``, ``ModeratorConfiguration``, ``EngineConfiguration``)
/// that cannot work, naming the field.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The configuration field at fault.
    public let field: String
    /// What is wrong, in words a user can act on.
    public let problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "invalid configuration: \(field) \(problem)" }

    /// Throws an error naming `field` unless `ok`.
    static func check(_ ok: Bool, _ field: String, _ problem: @autoclosure () -> String) throws(ConfigurationError) {
        if !ok { throw ConfigurationError(field: field, problem: problem()) }
    }
}

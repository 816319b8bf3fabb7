/// What one request may hold, the same for every transport (HTTP, NATS, AMQP): the one source of these
/// defaults, which the server's and the worker's configurations carry and their flags override.
public struct RequestLimits: Sendable, Hashable {
    /// Largest request body in bytes (413 `body_too_large` beyond). Default 1 MiB.
    public var maxBodyBytes: Int = 1 << 20
    /// Most texts in one request (422 `too_many_inputs` beyond). Default 256.
    public var maxInputs: Int = 256
    /// Without a `lane`, requests of at most this many texts may go to the interactive lane; larger arrays
    /// go to bulk. Default 8.
    public var interactiveMaxInputs: Int = 8

    /// The defaults described on each property.
    public init() {}
}

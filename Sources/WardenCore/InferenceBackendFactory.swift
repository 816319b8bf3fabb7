/// Makes the backends (workers) that run a bundle's model: how a ``ModerationEngine`` gets its model runtime
/// without `WardenCore` knowing which one it is. `TorchBackend` provides the TorchScript one.
public protocol InferenceBackendFactory: Sendable {
    /// Loads `count` backends for the model of `bundle`; each runs one batch at a time, on threads it owns.
    func makeBackends(for bundle: ModelBundle, count: Int) async throws -> [any InferenceBackend]
}

/// A factory from a closure: tests, benchmarks and custom deployments that build their backends themselves.
public struct BackendLoader: InferenceBackendFactory {
    private let load: @Sendable (ModelBundle, Int) async throws -> [any InferenceBackend]

    public init(_ load: @escaping @Sendable (_ bundle: ModelBundle, _ count: Int) async throws -> [any InferenceBackend]) {
        self.load = load
    }

    /// Backends that already exist (their number overrides the requested count).
    public static func existing(_ backends: [any InferenceBackend]) -> BackendLoader {
        BackendLoader { _, _ in backends }
    }

    public func makeBackends(for bundle: ModelBundle, count: Int) async throws -> [any InferenceBackend] {
        try await load(bundle, count)
    }
}

import WardenCore

/// Loads TorchScript workers for a ``ModerationEngine``: applies the process-wide runtime settings (threads)
/// once, before the first model loads, then loads one ``TorchBackend`` per worker, each on its own thread.
public struct TorchBackendFactory: InferenceBackendFactory {
    /// Threads and allocator settings applied before loading; nil leaves the process as it is.
    public var runtime: TorchRuntimeSettings?
    /// The precision to compute in.
    public var precision: TorchPrecision

    public init(runtime: TorchRuntimeSettings? = .default, precision: TorchPrecision = .asStored) {
        self.runtime = runtime
        self.precision = precision
    }

    public func makeBackends(for bundle: ModelBundle, count: Int) async throws -> [any InferenceBackend] {
        if let runtime { try TorchRuntime.apply(runtime) }
        var backends: [any InferenceBackend] = []
        for _ in 0..<count {
            backends.append(try await TorchBackend.load(path: bundle.modelPath, precision: precision, packedEntryPoint: bundle.packedEntryPoint))
        }
        return backends
    }
}

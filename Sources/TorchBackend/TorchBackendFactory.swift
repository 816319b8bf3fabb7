import Logging
import WardenCore

/// Loads TorchScript workers for a ``ModerationEngine``: applies the process-wide runtime settings (threads)
/// once, before the first model loads, plans the precision (timing the candidates with
/// ``PrecisionPolicy/auto``), then loads one ``TorchBackend`` per worker, each on its own thread.
public struct TorchBackendFactory: InferenceBackendFactory {
    /// Threads and allocator settings applied before loading; nil leaves the process as it is.
    public var runtime: TorchRuntimeSettings?
    /// How to choose the precision to compute in.
    public var precision: PrecisionPolicy
    /// Where the precision plan and its figures are logged.
    public var logger: Logger
    /// The nice value of the backends' threads: 0 (as the process), or up to 19 for a model that should
    /// compute only on CPU time the others leave idle (a shadow model). With one torch thread per forward
    /// (the default), a forward's work runs on its backend's thread.
    public var threadNice: Int32 = 0

    public init(
        runtime: TorchRuntimeSettings? = .default, precision: PrecisionPolicy = .asStored,
        logger: Logger = Logger(label: "warden.torch")
    ) {
        self.runtime = runtime
        self.precision = precision
        self.logger = logger
    }

    public func makeBackends(for bundle: ModelBundle, count: Int) async throws -> [any InferenceBackend] {
        if let runtime { try TorchRuntime.apply(runtime) }
        let plan = try await plan(for: bundle)
        var metadata: Logger.Metadata = ["precision": "\(plan.name)", "reason": "\(plan.reason)"]
        if !plan.figures.isEmpty { metadata["measured"] = "\(plan.figures)" }
        logger.info("precision plan", metadata: metadata)
        var backends: [any InferenceBackend] = []
        for _ in 0..<count {
            backends.append(
                try await TorchBackend.load(
                    path: bundle.modelPath, precision: plan.precision, packedEntryPoint: bundle.packedEntryPoint,
                    precisionName: plan.name, threadNice: threadNice))
        }
        return backends
    }

    /// The precision plan for `bundle` under ``precision``: with `auto`, the model's forwards are timed in
    /// each candidate precision (about a second; apply the runtime settings first, as ``makeBackends(for:count:)`` does).
    public func plan(for bundle: ModelBundle) async throws -> PrecisionPlan {
        let shapes = PrecisionPlanner.shapes(packing: bundle.packedEntryPoint != nil)
        return try await PrecisionPlanner.plan(
            policy: precision, storedPrecision: bundle.precision,
            fp32Verified: BLASStartup.current.fp32Verified, shapes: shapes
        ) { candidates in
            try await PrecisionPlanner.measure(
                modelPath: bundle.modelPath, packedEntryPoint: bundle.packedEntryPoint,
                candidates: candidates, shapes: shapes)
        }
    }
}

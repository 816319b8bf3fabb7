import WardenCore

/// The help of the command line's model and thread flags, beside the settings they set: each default is
/// quoted from ``TorchRuntimeSettings``, ``PrecisionPolicy`` or `EngineConfiguration`.
public enum RuntimeHelp {
    private static let engineDefaults = EngineConfiguration()

    public static let workers = "Backend workers: model copies running batches in parallel (env WARDEN_WORKERS; default \(engineDefaults.workers))."
    public static let torchThreads = "torch intra-op threads per forward (env WARDEN_TORCH_THREADS; default \(TorchRuntimeSettings.default.intraOpThreads))."
    public static let blasThreads =
        "OpenBLAS threads for fp32 matrix products (env WARDEN_BLAS_THREADS; default \(TorchRuntimeSettings.defaultBLASThreads(workers: 2)) per worker with several workers, \(TorchRuntimeSettings.defaultBLASThreads(workers: 1)) with one)."
    public static let graphOptimization = "Enable TorchScript graph-executor optimisation (env WARDEN_GRAPH_OPTIMIZATION; default off)."
    public static let precision =
        "Precision to compute in: auto (time the model's forwards in its stored precision and in fp32 at start-up, take the faster), bf16 (as a bf16 model is stored) or fp32 (converted at load) (env WARDEN_PRECISION; default \(PrecisionPolicy.commandLineDefault))."
}

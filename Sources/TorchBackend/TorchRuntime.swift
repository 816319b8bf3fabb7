import CTorchShim
import Logging

/// Process-wide libtorch / BLAS threading. Threads are a first-order performance setting on small CPU
/// machines: torch's OpenMP pool and OpenBLAS's own pthread pool oversubscribe the cores when both run
/// several threads (2–5× slower on a 2-core machine). Warden applies these once, before loading a model.
public struct TorchRuntimeSettings: Sendable, Equatable, CustomStringConvertible {
    /// torch intra-op threads per forward call.
    public var intraOpThreads: Int
    /// torch inter-op threads (Warden runs no inter-op parallel work; 1 avoids an idle pool).
    public var interOpThreads: Int
    /// OpenBLAS threads (fp32 matrix products run there in Debian's libtorch build).
    public var blasThreads: Int
    /// TorchScript graph-executor optimisation (profiling and shape specialisation).
    public var graphOptimization: Bool
    /// Keep freed heap memory in the process between batches (see `wt_retain_allocator_memory`).
    public var retainAllocatorMemory: Bool = true
    /// oneDNN primitive cache capacity: room for every batch shape (batch size × length) Warden makes,
    /// so primitives are reused and never evicted while another worker creates them.
    public var oneDNNCacheCapacity: Int = 16_384

    /// Measured on a 2-core machine (see docs/PERFORMANCE.md): one torch thread per worker (two torch
    /// threads collapsed under load: OpenMP spin-waits against the server's own threads), one OpenBLAS
    /// thread, graph optimisation off (no measurable gain). With the bf16 default model the matrix products
    /// do not go through OpenBLAS, so one worker uses one core (hence 2 workers by default, in
    /// `EngineConfiguration`).
    public static let `default` = TorchRuntimeSettings(intraOpThreads: 1, interOpThreads: 1, blasThreads: 1, graphOptimization: false)

    /// OpenBLAS threads when none are asked for: 1 per worker with several workers, 2 with one.
    public static func defaultBLASThreads(workers: Int) -> Int { workers > 1 ? 1 : 2 }

    /// The defaults for `workers` backends: ``default``'s threads, with ``defaultBLASThreads(workers:)``.
    public init(workers: Int) {
        self = .default
        blasThreads = Self.defaultBLASThreads(workers: workers)
    }

    public init(intraOpThreads: Int, interOpThreads: Int = 1, blasThreads: Int, graphOptimization: Bool = false) {
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.blasThreads = blasThreads
        self.graphOptimization = graphOptimization
    }

    public var description: String {
        "torch intra-op threads \(intraOpThreads), inter-op \(interOpThreads), BLAS threads \(blasThreads), graph optimisation \(graphOptimization ? "on" : "off")"
    }
}

/// Applies and reports process-wide runtime settings.
public enum TorchRuntime {
    /// Applies `settings` to the process. Call once at start-up before loading models. A BLAS other than
    /// OpenBLAS is reported in `blasDescription` and its thread count left alone.
    public static func apply(_ settings: TorchRuntimeSettings) throws(TorchError) {
        try checked { wt_set_threads(Int32(settings.intraOpThreads), Int32(settings.interOpThreads), $0, $1) }
        do {
            try checked { wt_set_blas_threads(Int32(settings.blasThreads), $0, $1) }
        } catch  where error.code == .unsupported {
            // No OpenBLAS in this process: nothing to configure.
        }
        wt_set_graph_optimization(settings.graphOptimization ? 1 : 0)
        if settings.retainAllocatorMemory { wt_retain_allocator_memory() }
        wt_set_onednn_cache_capacity(Int32(settings.oneDNNCacheCapacity))
    }

    /// Returns the heap's free memory to the kernel (see `wt_release_free_memory`); call it when idle.
    public static func releaseFreeMemory() { wt_release_free_memory() }

    /// torch's intra-op thread count as seen from the calling thread.
    public static var intraOpThreads: Int { Int(wt_get_threads()) }
    /// OpenBLAS's thread count, or nil without OpenBLAS.
    public static var blasThreads: Int? {
        let n = wt_get_blas_threads()
        return n < 0 ? nil : Int(n)
    }
    /// The OpenBLAS kernels of this process, how they were chosen and the fp32 check (see ``BLASStartup``).
    public static var blasCore: BLASCoreReport { BLASStartup.current }

    /// Logs the `runtime` line (threads, BLAS library, OpenBLAS core and how it was chosen, the fp32 check),
    /// and a warning when the BLAS set-up has a problem.
    public static func log(_ settings: TorchRuntimeSettings?, to logger: Logger) {
        let core = blasCore
        logger.info(
            "runtime",
            metadata: [
                "threads": "\(settings.map { "\($0)" } ?? "as is")",
                "blas": "\(blasDescription)",
                "blas_core": "\(core.coreLabel)",
                "blas_core_choice": "\(core.plan)",
                "blas_fp32_check": "\(core.check)",
            ])
        if let warning = core.warning { logger.warning("BLAS: \(warning)") }
    }

    /// A one-line description of the BLAS library in use.
    public static var blasDescription: String {
        var buffer = [CChar](repeating: 0, count: 512)
        buffer.withUnsafeMutableBufferPointer { wt_blas_info($0.baseAddress, $0.count) }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

import ServiceLifecycle
import TorchBackend
import WardenCore

/// Gives memory back to the kernel when the server is idle. Warden keeps freed heap memory between batches
/// (`TorchRuntimeSettings.retainAllocatorMemory`, much faster under load); without this, the memory a burst
/// took (hundreds of large request bodies, big batches) would stay with the process for ever.
struct MemoryReleaseService: Service {
    let engine: ModerationEngine
    var interval: Duration = .seconds(10)

    func run() async throws {
        var wasIdle = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard let batcher = engine.moderator?.batcher else { continue }
            let idle = batcher.queueDepth(.interactive) + batcher.queueDepth(.bulk) == 0 && batcher.longestRunningBatch == .zero
            // Idle for a whole interval: release once, not at every tick.
            if idle && !wasIdle { TorchRuntime.releaseFreeMemory() }
            wasIdle = idle
        }
    }
}

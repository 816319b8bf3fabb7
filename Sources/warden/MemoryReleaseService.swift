import Foundation
import ServiceLifecycle
import TorchBackend
import WardenCore

/// Gives memory back to the kernel when the server is idle. Warden keeps freed heap memory between batches
/// (`TorchRuntimeSettings.retainAllocatorMemory`, much faster under load); without this, the memory a burst
/// took (hundreds of large request bodies, big batches) would stay with the process for ever.
///
/// It releases once when the engine turns idle, and again at every idle tick while the resident set is
/// more than ``regrowth`` above the lowest it has been after a release: request bodies that arrive slowly
/// (or never finish) take memory while no batch runs, and must not keep it until the next burst of work.
/// (Memory still in use is not given back; trying again costs a few milliseconds per tick.)
struct MemoryReleaseService: Service {
    let engine: ModerationEngine
    var interval: Duration = .seconds(10)
    /// Growth of the resident set, while idle, that triggers another release. Default 32 MiB.
    var regrowth: Int = 32 << 20

    func run() async throws {
        var wasIdle = false
        var lowestAfterRelease = Int.max
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard let batcher = engine.moderator?.batcher else { continue }
            let idle = batcher.queueDepth(.interactive) + batcher.queueDepth(.bulk) == 0 && batcher.longestRunningBatch == .zero
            let resident = Self.residentBytes()
            // Idle for a whole interval: release once, not at every tick, unless memory grew again meanwhile.
            if idle && (!wasIdle || resident - regrowth > lowestAfterRelease) {
                TorchRuntime.releaseFreeMemory()
                lowestAfterRelease = min(lowestAfterRelease, Self.residentBytes())
            }
            wasIdle = idle
        }
    }

    /// The resident set of this process in bytes (0 where /proc is not available).
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import Foundation
import ServiceLifecycle
import WardenCore

/// Gives memory back to the kernel when the engine is idle. Warden keeps freed heap memory between batches
/// (`TorchRuntimeSettings.retainAllocatorMemory`, much faster under load); without this, the memory a burst
/// took (hundreds of large request bodies, big batches) would stay with the process for ever.
///
/// It releases once when the engine turns idle, and again at every idle tick while the resident set is
/// more than ``regrowth`` above the lowest it has been after a release: request bodies that arrive slowly
/// (or never finish) take memory while no batch runs, and must not keep it until the next burst of work.
/// (Memory still in use is not given back; trying again costs a few milliseconds per tick.)
public struct MemoryReleaseService: Service {
    /// How often the engine is looked at. Default 10 s.
    public var interval: Duration
    /// Growth of the resident set, while idle, that triggers another release. Default 32 MiB.
    public var regrowth: Int
    /// Whether the engine has nothing queued and nothing running; nil while it is not ready.
    let isIdle: @Sendable () -> Bool?
    let residentBytes: @Sendable () -> Int
    let release: @Sendable () -> Void

    /// Releases libtorch's free memory (``TorchRuntime/releaseFreeMemory()``) whenever `engine` is idle.
    public init(engine: ModerationEngine, interval: Duration = .seconds(10), regrowth: Int = 32 << 20) {
        self.init(
            interval: interval, regrowth: regrowth,
            isIdle: {
                guard let batcher = engine.moderator?.batcher else { return nil }
                return batcher.queueDepth(.interactive) + batcher.queueDepth(.bulk) == 0 && batcher.longestRunningBatch == .zero
            }, residentBytes: Self.residentBytes, release: TorchRuntime.releaseFreeMemory)
    }

    /// The service over any idleness test, resident-set reading and release (tests drive these).
    init(
        interval: Duration, regrowth: Int, isIdle: @escaping @Sendable () -> Bool?, residentBytes: @escaping @Sendable () -> Int,
        release: @escaping @Sendable () -> Void
    ) {
        self.interval = interval
        self.regrowth = regrowth
        self.isIdle = isIdle
        self.residentBytes = residentBytes
        self.release = release
    }

    public func run() async throws {
        var wasIdle = false
        var lowestAfterRelease = Int.max
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard let idle = isIdle() else { continue }
            let resident = residentBytes()
            // Idle for a whole interval: release once, not at every tick, unless memory grew again meanwhile.
            if idle && (!wasIdle || resident - regrowth > lowestAfterRelease) {
                release()
                lowestAfterRelease = min(lowestAfterRelease, residentBytes())
            }
            wasIdle = idle
        }
    }

    /// The resident set of this process in bytes (0 where /proc is not available).
    public static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

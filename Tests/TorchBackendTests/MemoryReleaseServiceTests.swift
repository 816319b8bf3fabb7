import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import TorchBackend

/// When the memory service gives memory back: once as the engine turns idle, again only when the resident set
/// grows past the regrowth margin while idle; never while the engine works or is not ready.
@Suite("Memory release while idle", .timeLimit(.minutes(1)))
struct MemoryReleaseServiceTests {
    /// One tick: the engine's idleness (nil: not ready) and the resident set the service reads.
    struct Tick {
        var idle: Bool?
        var resident: Int
    }

    @Test("releases on turning idle and on regrowth, not at every idle tick")
    func releasesOnTurningIdleAndOnRegrowth() async throws {
        let ticks = [
            Tick(idle: nil, resident: 1000),  // not ready
            Tick(idle: false, resident: 1000),  // working
            Tick(idle: true, resident: 1000),  // turned idle: release
            Tick(idle: true, resident: 1050),  // grew less than the margin
            Tick(idle: true, resident: 1101),  // grew past it: release
            Tick(idle: false, resident: 1101),
            Tick(idle: true, resident: 1101),  // idle again: release
        ]
        let state = Mutex((next: 0, resident: 0, releasedAt: [Int]()))
        try await testGracefulShutdown { trigger in
            let service = MemoryReleaseService(
                interval: .zero, regrowth: 100,
                isIdle: {
                    state.withLock { state in
                        guard state.next < ticks.count else {
                            trigger.triggerGracefulShutdown()
                            return nil
                        }
                        state.resident = ticks[state.next].resident
                        state.next += 1
                        return ticks[state.next - 1].idle
                    }
                },
                residentBytes: { state.withLock { $0.resident } },
                release: { state.withLock { $0.releasedAt.append($0.next - 1) } })
            try await service.run()
        }
        #expect(state.withLock { $0.releasedAt } == [2, 4, 6])
    }

    @Test("the resident set is read from the kernel")
    func residentSet() {
        #expect(MemoryReleaseService.residentBytes() > 0)
    }
}

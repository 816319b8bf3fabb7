import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
@testable import WardenClient

/// Collects the client's events for assertions.
final class EventLog: Sendable {
    private let events = Mutex<[WardenClientEvent]>([])
    var all: [WardenClientEvent] { events.withLock { $0 } }
    var retryDelays: [Duration] {
        all.compactMap { if case .retrying(_, let delay, _) = $0 { delay } else { nil } }
    }
    var unscored: [(WardenClientError, WardenClient.FailurePolicy)] {
        all.compactMap { if case .unscored(let reason, let policy) = $0 { (reason, policy) } else { nil } }
    }
    func record(_ event: WardenClientEvent) { events.withLock { $0.append(event) } }
}

/// A loopback TCP port with nothing listening: bound to find a free one, then closed.
func closedLoopbackPort() -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    precondition(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    precondition(bound)
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs `body` and returns its result with the time it took.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try await body()
    return (value, clock.now - start)
}

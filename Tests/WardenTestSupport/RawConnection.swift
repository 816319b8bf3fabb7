import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection to a loopback port, for the HTTP tests no well-behaved client can do: sending a
/// body slowly, hanging up mid-request, chunked bodies, many idle connections.
public final class RawConnection: @unchecked Sendable {  // used by one test task at a time
    private var fd: Int32

    /// Connects to `127.0.0.1:port`.
    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WardenProcess.Failure(description: "socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            let error = errno
            close()  // and forgets the descriptor: deinit runs on this failed init too, and must not close it again
            throw WardenProcess.Failure(description: "connect to port \(port) failed: \(error)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// The port of an `http://host:port` base URL.
    public static func port(of baseURL: String) -> Int { Int(baseURL.split(separator: ":").last ?? "") ?? 0 }

    /// Sends `text` (UTF-8); false when the peer has closed.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends `bytes`; false when the peer has closed.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EAGAIN {
                    usleep(1000)
                    continue
                }
                return false
            }
            offset += sent
        }
        return true
    }

    /// Reads what arrives until the peer closes or `timeout` passes (or, with `until`, until the text read
    /// so far satisfies it); returns the text and whether the peer closed.
    public func read(timeout: Duration, until done: (String) -> Bool = { _ in false }) async -> (text: String, closed: Bool) {
        var data = [UInt8]()
        let end = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < end {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                data += buffer[0..<count]
                if done(String(decoding: data, as: UTF8.self)) { break }
            } else if count == 0 {
                return (String(decoding: data, as: UTF8.self), true)
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try? await Task.sleep(for: .milliseconds(10))
            } else {
                return (String(decoding: data, as: UTF8.self), true)  // reset by the peer
            }
        }
        return (String(decoding: data, as: UTF8.self), false)
    }

    /// Closes the connection (the client hangs up). Closing twice is harmless: a second `close` of the same number
    /// could close a descriptor the process has reused since (a server's socket), so the number is forgotten.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

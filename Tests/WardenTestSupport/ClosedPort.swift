#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A loopback TCP port with nothing listening: bound to find a free one, then closed. Free for a server the
/// test starts on it; another server may take it meanwhile, so a test that needs a port nobody answers on
/// uses ``refusingLoopbackPort()``.
public func closedLoopbackPort() -> Int {
    let (fd, port) = boundLoopbackSocket()
    close(fd)
    return port
}

/// A loopback TCP port that refuses every connection for the life of the process: bound and never
/// listening, so no other server (another suite's, started on port 0) can take it.
public func refusingLoopbackPort() -> Int {
    boundLoopbackSocket().port
}

/// A TCP socket bound to a free loopback port, not listening.
private func boundLoopbackSocket() -> (fd: Int32, port: Int) {
    #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    precondition(fd >= 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    precondition(bound)
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

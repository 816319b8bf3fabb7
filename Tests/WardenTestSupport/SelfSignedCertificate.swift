import Foundation

/// Writes a self-signed certificate for `127.0.0.1` (`cert.pem`, valid one day, with the IP as subject alternative
/// name) and its key (`key.pem`) into `folder`, with the system's `openssl`: for the TLS tests of the NATS and
/// AMQP clients, whose servers listen on loopback. The wait for `openssl` suspends instead of blocking a thread
/// (a blocking `waitUntilExit` on a concurrency thread once hung the whole suite).
public func makeSelfSignedCertificate(in folder: String) async throws {
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    openssl.arguments = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(folder)/key.pem", "-out", "\(folder)/cert.pem",
        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    ]
    openssl.standardOutput = FileHandle.nullDevice
    openssl.standardError = FileHandle.nullDevice
    try openssl.run()
    guard await openssl.waitForExit(killingAfter: .seconds(60)) else {
        throw WardenProcess.Failure(description: "openssl did not make a certificate within 60 s")
    }
    guard openssl.terminationStatus == 0 else {
        throw WardenProcess.Failure(description: "openssl could not make a certificate (status \(openssl.terminationStatus))")
    }
}

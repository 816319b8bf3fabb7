import Foundation
import Synchronization

/// A real `nats-server` child process with JetStream on (`-js`), on a free loopback port with a temporary
/// store folder, stopped by its PID. The one NATS launcher of the test targets.
///
/// The binary is `NATS_SERVER`, else `nats-server` from `PATH`, `/usr/sbin` or `/usr/bin` (Debian's package,
/// installed by `scripts/setup.sh`).
public final class NATSServerProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The `nats-server` binary, or nil when none is installed.
    public static var binary: String? {
        if let path = ProcessInfo.processInfo.environment["NATS_SERVER"], !path.isEmpty { return path }
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin"]
        return folders.map { "\($0)/nats-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public let port: Int
    /// The JetStream store folder (removed by ``stop()``).
    public let storeDirectory: String
    private let arguments: [String]
    private let process: Mutex<Process?>
    private let output = Mutex("")

    /// `nats://127.0.0.1:<port>`.
    public var url: String { "nats://127.0.0.1:\(port)" }
    public var pid: Int32 { process.withLock { $0?.processIdentifier ?? 0 } }
    /// What the server logged.
    public var log: String { output.withLock { $0 } }

    private init(port: Int, storeDirectory: String, arguments: [String]) {
        self.port = port
        self.storeDirectory = storeDirectory
        self.arguments = arguments
        self.process = Mutex(nil)
    }

    /// Starts `nats-server -js` with `arguments` added (`--auth TOKEN`, `--user`/`--pass`, `-c FILE`) and waits
    /// until it accepts connections.
    public static func start(arguments: [String] = [], port: Int? = nil) async throws -> NATSServerProcess {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("warden-nats-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let server = NATSServerProcess(port: port ?? closedLoopbackPort(), storeDirectory: store, arguments: arguments)
        try await server.launch()
        return server
    }

    /// (Re)starts the process on the same port and store.
    public func launch() async throws {
        guard let binary = Self.binary else { throw Failure(description: "nats-server is not installed (scripts/setup.sh installs it)") }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDirectory] + arguments
        let pipe = collectingPipe { [weak self] text in self?.output.withLock { $0 += text } }
        child.standardOutput = pipe
        child.standardError = pipe
        child.standardInput = FileHandle.nullDevice
        try child.run()
        process.withLock { $0 = child }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(20)
        while clock.now < end {
            if launchCount.withLock({ count in
                guard log.components(separatedBy: "Server is ready").count > count + 1 else { return false }
                count += 1
                return true
            }) {
                return
            }
            if !child.isRunning { throw Failure(description: "nats-server exited with status \(child.terminationStatus):\n\(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "nats-server was not ready within 20 s:\n\(log)")
    }

    /// Launches that reached "Server is ready" (the log keeps every launch's lines).
    private let launchCount = Mutex(0)

    /// Stops the process (SIGTERM, then SIGKILL after 10 s) and waits for it; keeps the store.
    public func halt() async {
        guard let child = process.withLock({ $0 }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGTERM) }
        await child.waitForExit(killingAfter: .seconds(10))
    }

    /// Stops the process and removes its store.
    public func stop() async {
        await halt()
        try? FileManager.default.removeItem(atPath: storeDirectory)
    }

    /// Runs `body` with a fresh server and always stops it afterwards.
    public static func with<Value: Sendable>(arguments: [String] = [], _ body: (NATSServerProcess) async throws -> Value) async throws -> Value {
        let server = try await start(arguments: arguments)
        do {
            let value = try await body(server)
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Writes `text` to a temporary configuration file and returns its path (for `-c`).
    public static func configurationFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warden-nats-\(UUID().uuidString).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    deinit {
        if let child = process.withLock({ $0 }), child.isRunning { kill(child.processIdentifier, SIGKILL) }
    }
}

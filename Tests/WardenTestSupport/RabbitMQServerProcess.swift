import Foundation
import Synchronization

/// A real RabbitMQ broker (`rabbitmq-server`, Debian's package, installed by `scripts/setup.sh`) as a child
/// process of the tests, run as the current user with everything of its own in a temporary folder: node name,
/// data (`RABBITMQ_MNESIA_BASE`), logs, cookie (`HOME`), no plugins, and free loopback ports for AMQP, Erlang
/// distribution and its own `epmd`, so it collides with no other broker on the machine.
///
/// It takes seconds to boot: suites share ``shared()`` (one broker per test process, stopped when the process
/// exits) and give each test its own queue names; a test that stops or restarts the broker starts its own.
///
/// Debian's `/usr/sbin/rabbitmq-server` wrapper switches to the `rabbitmq` user when started as root, which would
/// drop this environment; the launcher runs the script behind it (`/usr/lib/rabbitmq/bin/rabbitmq-server`) directly,
/// with `RUNNING_UNDER_SYSTEMD` so that the script `exec`s the Erlang VM and the child's PID is the broker's.
public final class RabbitMQServerProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The broker's start script, or nil when RabbitMQ is not installed (`RABBITMQ_SERVER` overrides it).
    public static var script: String? {
        if let path = ProcessInfo.processInfo.environment["RABBITMQ_SERVER"], !path.isEmpty { return path }
        return ["/usr/lib/rabbitmq/bin/rabbitmq-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The AMQP port.
    public let port: Int
    public let directory: String
    private let nodeName: String
    private let distributionPort: Int
    private let epmdPort: Int
    private let process = Mutex<Process?>(nil)
    private let output = Mutex("")

    /// `amqp://guest:guest@127.0.0.1:<port>` (RabbitMQ lets `guest` in from loopback only, which this is).
    public var url: String { "amqp://guest:guest@127.0.0.1:\(port)" }
    public var pid: Int32 { process.withLock { $0?.processIdentifier ?? 0 } }
    /// What the broker printed.
    public var log: String { output.withLock { $0 } }

    private init() {
        port = closedLoopbackPort()
        distributionPort = closedLoopbackPort()
        epmdPort = closedLoopbackPort()
        nodeName = "warden-\(UUID().uuidString.prefix(8).lowercased())@localhost"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("warden-rabbitmq-\(UUID().uuidString)").path
    }

    /// Starts a broker of its own and waits until it answers an AMQP handshake. `configuration` is the text of its
    /// `rabbitmq.conf` (a TLS listener, say); ``folder`` is where files it names can be put beforehand.
    public static func start(configuration: ((_ folder: String) throws -> String)? = nil) async throws -> RabbitMQServerProcess {
        let server = RabbitMQServerProcess()
        try FileManager.default.createDirectory(atPath: server.directory, withIntermediateDirectories: true)
        try "[].\n".write(toFile: "\(server.directory)/enabled_plugins", atomically: true, encoding: .utf8)
        if let configuration {
            try configuration(server.directory).write(toFile: "\(server.directory)/rabbitmq.conf", atomically: true, encoding: .utf8)
        }
        cleanup.withLock { $0.append((server.pidForCleanup, server.epmdPort, server.directory)) }
        try await server.launch()
        return server
    }

    private static let sharedServer = Mutex<Task<RabbitMQServerProcess, any Error>?>(nil)

    /// The broker this test process shares: started by the first caller, stopped when the process exits.
    public static func shared() async throws -> RabbitMQServerProcess {
        let task = sharedServer.withLock { task in
            if let task { return task }
            let started = Task { try await RabbitMQServerProcess.start() }
            task = started
            return started
        }
        return try await task.value
    }

    private var pidForCleanup: @Sendable () -> Int32 { { [weak self] in self?.pid ?? 0 } }

    /// (Re)starts the broker on the same ports and data, and waits until it answers a handshake. A restart right
    /// after ``halt()`` may find the distribution port still held by the node that just stopped: the boot is then
    /// tried again, a second apart, up to five times.
    public func launch() async throws {
        for attempt in 1...5 {
            do {
                return try await launchOnce()
            } catch let failure as Failure where attempt < 5 && failure.description.contains("could not bind to distribution port") {
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func launchOnce() async throws {
        guard let script = Self.script else {
            throw Failure(description: "rabbitmq-server is not installed (scripts/setup.sh installs it)")
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: script)
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("RABBITMQ_") || key.hasPrefix("ERL_") { environment.removeValue(forKey: key) }
        environment.merge([
            "HOME": directory,
            "RABBITMQ_NODENAME": nodeName,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": String(port),
            "RABBITMQ_DIST_PORT": String(distributionPort),
            "ERL_EPMD_PORT": String(epmdPort),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            // Lets `epmd -kill` stop this epmd even while the node is still registered (a broker killed at exit).
            "ERL_EPMD_RELAXED_COMMAND_CHECK": "1",
            "RABBITMQ_MNESIA_BASE": "\(directory)/mnesia",
            "RABBITMQ_LOG_BASE": "\(directory)/log",
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_ENABLED_PLUGINS_FILE": "\(directory)/enabled_plugins",
            "RABBITMQ_CONFIG_FILE": "\(directory)/rabbitmq",
            "RABBITMQ_ADVANCED_CONFIG_FILE": "\(directory)/advanced.config",
            "RABBITMQ_CONF_ENV_FILE": "\(directory)/rabbitmq-env.conf",
            "RABBITMQ_PID_FILE": "\(directory)/rabbitmq.pid",
            "RUNNING_UNDER_SYSTEMD": "1",
        ]) { $1 }
        child.environment = environment
        let pipe = collectingPipe { [weak self] text in self?.output.withLock { $0 += text } }
        child.standardOutput = pipe
        child.standardError = pipe
        child.standardInput = FileHandle.nullDevice
        try child.run()
        process.withLock { $0 = child }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(90)
        while clock.now < end {
            if await answersHandshake() { return }
            if !child.isRunning { throw Failure(description: "rabbitmq-server exited with status \(child.terminationStatus):\n\(log)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "rabbitmq-server did not answer on port \(port) within 90 s:\n\(log)")
    }

    /// Whether the AMQP port answers the protocol header with `connection.start` (which names PLAIN).
    private func answersHandshake() async -> Bool {
        guard let connection = try? RawConnection(port: port) else { return false }
        defer { connection.close() }
        guard connection.send([0x41, 0x4D, 0x51, 0x50, 0, 0, 9, 1]) else { return false }
        return await connection.read(timeout: .seconds(2)) { $0.contains("PLAIN") }.text.contains("PLAIN")
    }

    /// Stops the broker (SIGTERM, SIGKILL after 20 s) and waits for it; keeps its data for ``launch()``.
    public func halt() async {
        guard let child = process.withLock({ $0 }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGTERM) }
        await child.waitForExit(killingAfter: .seconds(20))
    }

    /// Stops the broker and its `epmd`, and removes its folder.
    public func stop() async {
        await halt()
        Self.stopEPMD(port: epmdPort)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `rabbitmqctl` against this broker (`list_queues name messages`…) and returns what it printed.
    public func ctl(_ arguments: [String]) throws -> String {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/lib/rabbitmq/bin/rabbitmqctl")
        child.arguments = ["-n", nodeName, "-q"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory
        environment["ERL_EPMD_PORT"] = String(epmdPort)
        child.environment = environment
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        try child.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `epmd -kill` on the broker's own epmd port (it outlives the broker otherwise).
    static func stopEPMD(port: Int) {
        let epmd = ["/usr/bin/epmd", "/usr/lib/erlang/bin/epmd"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let epmd else { return }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: epmd)
        child.arguments = ["-port", String(port), "-kill"]
        child.environment = ["ERL_EPMD_RELAXED_COMMAND_CHECK": "1"]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try? child.run()
        child.waitUntilExit()
    }

    /// Brokers to stop when the test process exits: (pid, epmd port, folder).
    private static let cleanup: Mutex<[(pid: @Sendable () -> Int32, epmdPort: Int, directory: String)]> = {
        atexit {
            for entry in RabbitMQServerProcess.cleanup.withLock({ $0 }) {
                let pid = entry.pid()
                if pid > 0 { kill(pid, SIGKILL) }
                RabbitMQServerProcess.stopEPMD(port: entry.epmdPort)
                try? FileManager.default.removeItem(atPath: entry.directory)
            }
        }
        return Mutex([])
    }()

    deinit {
        if let child = process.withLock({ $0 }), child.isRunning { kill(child.processIdentifier, SIGKILL) }
    }
}

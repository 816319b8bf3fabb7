import Foundation
import Synchronization

/// The real Warden, run as `warden serve --port 0` on loopback for the duration of a test.
///
/// Finds the `warden` executable in `WARDEN_BINARY`, else next to the test bundle (`swift test` builds it into
/// the same `.build/<config>/` folder), else in `<root>/.build/debug/`; the model folder in `WARDEN_TEST_MODEL`,
/// else `<root>/<defaultModel>`. `<root>` is `WARDEN_ROOT` or this package's root.
///
/// Shared by the `WardenClientTests` and `ChatServerTests` suites.
public final class WardenProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `http://127.0.0.1:<port>`.
    public let baseURL: String
    public let port: Int
    private let process: Process
    private let output: Output

    /// Everything the process printed (stdout and stderr), collected as it arrives.
    private final class Output: Sendable {
        let text = Mutex("")
    }

    public static var root: URL {
        if let root = ProcessInfo.processInfo.environment["WARDEN_ROOT"] { return URL(fileURLWithPath: root) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var binary: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["WARDEN_BINARY"] { return FileManager.default.isExecutableFile(atPath: path) ? path : nil }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            besideTests.appendingPathComponent("warden").path,
            besideTests.deletingLastPathComponent().appendingPathComponent("warden").path,
            root.appendingPathComponent(".build/debug/warden").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static func model(default relativePath: String) -> String? {
        let path = ProcessInfo.processInfo.environment["WARDEN_TEST_MODEL"] ?? root.appendingPathComponent(relativePath).path
        return FileManager.default.fileExists(atPath: path + "/manifest.json") ? path : nil
    }

    /// Whether a binary and the model are there to run the real service.
    public static func isAvailable(model relativePath: String) -> Bool {
        binary != nil && model(default: relativePath) != nil
    }

    private init(baseURL: String, port: Int, process: Process, output: Output) {
        self.baseURL = baseURL
        self.port = port
        self.process = process
        self.output = output
    }

    /// Starts `warden serve` and waits for its ready line (model loaded and warmed up).
    public static func start(model relativePath: String, arguments extra: [String] = [], readyTimeout: Duration = .seconds(300)) async throws -> WardenProcess {
        guard let binary else { throw Failure(description: "no warden executable found; build it or set WARDEN_BINARY") }
        guard let model = model(default: relativePath) else { throw Failure(description: "no model bundle at \(relativePath); set WARDEN_TEST_MODEL") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--model", model, "--log-level", "warning"] + extra
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("WARDEN_") { environment[key] = nil }
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = stdout
        process.standardInput = FileHandle.nullDevice
        let output = Output()
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()

        let clock = ContinuousClock()
        let end = clock.now + readyTimeout
        while clock.now < end {
            let text = output.text.withLock { $0 }
            if let range = text.range(of: "Warden is ready on http://127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) {
                    return WardenProcess(baseURL: "http://127.0.0.1:\(port)", port: port, process: process, output: output)
                }
            }
            if !process.isRunning {
                throw Failure(description: "warden serve exited with status \(process.terminationStatus):\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw Failure(description: "warden serve was not ready within \(readyTimeout):\n\(output.text.withLock { $0 })")
    }

    /// What the process printed so far.
    public var log: String { output.text.withLock { $0 } }

    /// Sends SIGTERM and waits for the process to exit (graceful shutdown); returns its exit status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(60)) async -> Int32 {
        if process.isRunning { process.terminate() }
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while process.isRunning && clock.now < end {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
        return process.terminationStatus
    }

    /// Runs `body` with a started Warden and always stops it afterwards.
    public static func with<Value: Sendable>(model relativePath: String, arguments: [String] = [],
                                      _ body: (WardenProcess) async throws -> Value) async throws -> Value {
        let warden = try await start(model: relativePath, arguments: arguments)
        do {
            let value = try await body(warden)
            await warden.stop()
            return value
        } catch {
            await warden.stop()
            throw error
        }
    }
}

import Foundation
import Synchronization

/// The built `warden` executable: `WARDEN_BINARY`, else beside the test bundle (`swift build --build-tests`
/// builds it into the same `.build/<config>/` folder, found by walking up a few folders), else
/// `<root>/.build/debug/warden`. The one binary locator of the test targets.
public enum WardenBinary {
    public static var path: String? {
        if let path = ProcessInfo.processInfo.environment["WARDEN_BINARY"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        var candidates: [String] = []
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(folder.appendingPathComponent("warden").path)
            folder = folder.deletingLastPathComponent()
        }
        candidates.append(TestPaths.root.appendingPathComponent(".build/debug/warden").path)
        return candidates.first { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && FileManager.default.isExecutableFile(atPath: path)
        }
    }

    /// ``path``, or a failure that says how to get one.
    public static func require() throws -> String {
        guard let path else { throw WardenProcess.Failure(description: "no warden executable found; build it or set WARDEN_BINARY") }
        return path
    }
}

/// A real `warden` child process (any subcommand; usually `serve` on a free loopback port) with its
/// standard output and standard error collected apart. The one launcher of the test targets.
///
/// Inherited `WARDEN_*` variables are removed, so the machine's environment cannot change a test; pass
/// the ones a test is about in `environment`.
public final class WardenProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private final class Captured: Sendable {
        let stdout = Mutex("")
        let stderr = Mutex("")
        let port = Mutex<Int?>(nil)
        /// Output streams that reached their end (2: everything the child wrote has been collected).
        let endedStreams = Mutex(0)
    }

    private let process: Process
    private let captured: Captured

    /// The child's process id (for signals).
    public var pid: Int32 { process.processIdentifier }
    /// Whether the child is still running.
    public var isRunning: Bool { process.isRunning }
    /// What the child printed on standard output so far.
    public var standardOutput: String { captured.stdout.withLock { $0 } }
    /// What the child printed on standard error so far.
    public var standardError: String { captured.stderr.withLock { $0 } }
    /// Both, for failure messages.
    public var log: String { standardOutput + standardError }
    /// The port of a ready `serve` (from its ready line); nil before.
    public var port: Int? { captured.port.withLock { $0 } }
    /// `http://127.0.0.1:<port>` of a ready `serve`.
    public var baseURL: String { "http://127.0.0.1:\(port ?? 0)" }

    private init(process: Process, captured: Captured) {
        self.process = process
        self.captured = captured
    }

    /// Starts `warden <arguments>`; returns at once.
    public static func launch(_ arguments: [String], environment overrides: [String: String] = [:]) throws -> WardenProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try WardenBinary.require())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("WARDEN_") { environment[key] = nil }
        for (key, value) in overrides { environment[key] = value }
        process.environment = environment
        let captured = Captured()
        let ended: @Sendable () -> Void = { captured.endedStreams.withLock { $0 += 1 } }
        process.standardOutput = collectingPipe(onEnd: ended) { text in captured.stdout.withLock { $0 += text } }
        process.standardError = collectingPipe(onEnd: ended) { text in captured.stderr.withLock { $0 += text } }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return WardenProcess(process: process, captured: captured)
    }

    /// Starts `warden serve` on a free loopback port with `model` (a path, or one relative to the package
    /// root) and waits until it is ready.
    public static func serve(
        model: String, arguments: [String] = [], environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(300)
    ) async throws -> WardenProcess {
        let modelPath = model.hasPrefix("/") ? model : TestPaths.path(model)
        let warden = try launch(
            ["serve", "--host", "127.0.0.1", "--port", "0", "--model", modelPath, "--log-level", "warning"] + arguments,
            environment: environment)
        do {
            try await warden.waitUntilReady(timeout: readyTimeout)
        } catch {
            await warden.stop()
            throw error
        }
        return warden
    }

    /// Same as ``serve(model:arguments:environment:readyTimeout:)``.
    public static func start(model: String, arguments: [String] = []) async throws -> WardenProcess {
        try await serve(model: model, arguments: arguments)
    }

    /// Waits for `serve`'s ready line and returns the base URL; fails if the process exits first.
    @discardableResult
    public func waitUntilReady(timeout: Duration = .seconds(300)) async throws -> String {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let text = standardOutput
            if let range = text.range(of: "Warden is ready on http://127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) {
                    captured.port.withLock { $0 = port }
                    return baseURL
                }
            }
            if !process.isRunning {
                throw Failure(description: "warden exited with status \(process.terminationStatus) before it was ready:\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure(description: "warden was not ready within \(timeout):\n\(log)")
    }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits (bounded) for the child to exit and returns its status; kills it and fails past `timeout`.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        guard await process.waitForExit(killingAfter: timeout) else {
            throw Failure(description: "warden did not exit within \(timeout):\n\(log)")
        }
        await collectRemainingOutput()
        return process.terminationStatus
    }

    /// After the exit, waits (at most 5 s) until the last of the child's output has been collected: the pipes are
    /// read on another thread, so what the child wrote just before it exited may still be on its way.
    private func collectRemainingOutput() async {
        let end = ContinuousClock.now + .seconds(5)
        while captured.endedStreams.withLock({ $0 }) < 2 && ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends SIGTERM and waits for the exit (graceful shutdown); kills it past `timeout`. Returns the status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(60)) async -> Int32 {
        if process.isRunning { process.terminate() }
        await process.waitForExit(killingAfter: timeout)
        await collectRemainingOutput()
        return process.terminationStatus
    }

    /// Runs `body` with a ready `warden serve` and always stops it afterwards.
    public static func with<Value: Sendable>(
        model: String, arguments: [String] = [],
        _ body: (WardenProcess) async throws -> Value
    ) async throws -> Value {
        let warden = try await serve(model: model, arguments: arguments)
        do {
            let value = try await body(warden)
            await warden.stop()
            return value
        } catch {
            await warden.stop()
            throw error
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

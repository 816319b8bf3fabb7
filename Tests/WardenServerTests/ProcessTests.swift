import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// The built `warden` executable beside the test bundle (`swift build` builds it with the tests).
enum WardenExecutable {
    static var url: URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("warden")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return Paths.repository.appendingPathComponent(".build/debug/warden")
    }
}

/// A `warden serve` child process whose standard output is watched for the ready line.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let lock = NSLock()
    private var printed = ""
    private var logged = ""

    init(arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = WardenExecutable.url
        process.arguments = ["serve", "--port", "0", "--log-level", "warning"] + arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.printed += String(decoding: data, as: UTF8.self) }
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.logged += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var standardOutput: String { lock.withLock { printed } }
    var standardError: String { lock.withLock { logged } }

    /// Waits for "ready on http://HOST:PORT" and returns the base URL.
    func waitUntilReady(timeout: Duration = .seconds(120)) async throws -> String {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if let range = standardOutput.range(of: #"http://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                return String(standardOutput[range])
            }
            guard process.isRunning else { throw TestFailure("warden serve exited early: \(standardError)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("warden serve never printed its ready line; stderr: \(standardError)")
    }

    /// Waits for the process to exit (bounded) and returns its status.
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while process.isRunning {
            guard clock.now < end else {
                process.interrupt()
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("warden serve did not exit in time")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

@Suite("warden serve as a process", .serialized, .timeLimit(.minutes(3)))
struct ProcessTests {
    @Test("SIGTERM during load: every accepted request is answered, then exit 0")
    func sigtermDrains() async throws {
        // The real default model, so the work takes long enough to be in flight when SIGTERM arrives.
        let server = try ServeProcess(arguments: ["--model", Paths.defaultModel, "--max-batch-size", "8", "--cache-size", "0"])
        let base = try await server.waitUntilReady()
        // One connection per request (no client-side queueing): every request reaches the server before SIGTERM.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)))
        #expect(server.standardOutput.contains("curl -s \(base)/v1/moderate"))
        let texts = (0..<40).map { "message \($0) " + String(repeating: "lorem ipsum dolor sit amet ", count: 1 + $0 % 4) }
        let replies = try await withThrowingTaskGroup(of: Int.self) { group in
            for text in texts {
                group.addTask {
                    let json = String(data: try JSONSerialization.data(withJSONObject: ["input": Array(repeating: text, count: 8), "lane": "bulk"]), encoding: .utf8)!
                    var request = HTTPClientRequest(url: base + "/v1/moderate")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: json))
                    return Int(try await client.execute(request, timeout: .seconds(120)).status.code)
                }
            }
            // Let every request reach the server, then ask it to stop while they are being scored.
            try await Task.sleep(for: .milliseconds(300))
            kill(server.process.processIdentifier, SIGTERM)
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            return statuses
        }
        try await client.shutdown()
        #expect(replies.count == texts.count)
        #expect(replies.allSatisfy { $0 == 200 }, "statuses: \(replies)")
        #expect(try await server.waitForExit() == 0)
    }

    @Test("a missing model folder exits 1 with one clear line")
    func missingModel() async throws {
        let server = try ServeProcess(arguments: ["--model", "/nonexistent/model-bundle"])
        #expect(try await server.waitForExit() == 1)
        #expect(server.standardError.contains("warden: cannot start: /nonexistent/model-bundle: model folder does not exist"))
    }

    @Test("a corrupt model file exits 1 naming the file, and environment variables configure the server")
    func corruptModel() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let manifest = try String(contentsOfFile: Paths.tinyBert + "/manifest.json", encoding: .utf8)
            .replacingOccurrences(of: "../../../tokenizer", with: Paths.repository.appendingPathComponent("tokenizer").path)
        try manifest.write(to: folder.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        try Data("not a model".utf8).write(to: folder.appendingPathComponent("model.pt"))
        let server = try ServeProcess(arguments: [], environment: ["WARDEN_MODEL": folder.path])
        #expect(try await server.waitForExit() == 1)
        #expect(server.standardError.contains("model.pt"))
        #expect(server.standardError.contains("warden: stopped:"))
    }
}

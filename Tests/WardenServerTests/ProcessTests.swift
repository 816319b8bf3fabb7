import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import WardenTestSupport

/// `warden serve` on a free loopback port, not yet waited for.
func launchServe(_ arguments: [String], environment: [String: String] = [:]) throws -> WardenProcess {
    try WardenProcess.launch(["serve", "--port", "0", "--log-level", "warning"] + arguments, environment: environment)
}

@Suite("warden serve as a process", .serialized, .timeLimit(.minutes(3)))
struct ProcessTests {
    @Test("SIGTERM during load: every accepted request is answered, then exit 0")
    func sigtermDrains() async throws {
        // The real default model, so the work takes long enough to be in flight when SIGTERM arrives.
        let server = try launchServe(["--model", Paths.defaultModel, "--max-batch-size", "8", "--cache-size", "0"])
        let base = try await server.waitUntilReady()
        // One connection per request (no client-side queueing): every request reaches the server before SIGTERM.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)))
        #expect(server.standardOutput.contains("curl -s \(base)/v1/moderations"))
        let texts = (0..<40).map { "message \($0) " + String(repeating: "lorem ipsum dolor sit amet ", count: 1 + $0 % 4) }
        let replies = try await withThrowingTaskGroup(of: Int.self) { group in
            for text in texts {
                group.addTask {
                    let json = String(data: try JSONSerialization.data(withJSONObject: ["input": Array(repeating: text, count: 8), "lane": "bulk"]), encoding: .utf8)!
                    var request = HTTPClientRequest(url: base + "/v1/moderations")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: json))
                    return Int(try await client.execute(request, timeout: .seconds(120)).status.code)
                }
            }
            // Let every request reach the server, then ask it to stop while they are being scored.
            try await Task.sleep(for: .milliseconds(300))
            server.send(SIGTERM)
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
        let server = try launchServe(["--model", "/nonexistent/model-bundle"])
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
        let server = try launchServe([], environment: ["WARDEN_MODEL": folder.path])
        #expect(try await server.waitForExit() == 1)
        #expect(server.standardError.contains("model.pt"))
        #expect(server.standardError.contains("warden: stopped:"))
    }
}

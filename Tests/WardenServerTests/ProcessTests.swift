import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
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
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)))
        #expect(server.standardOutput.contains("curl -s \(base)/v1/moderations"))
        let texts = (0..<40).map { "message \($0) " + String(repeating: "lorem ipsum dolor sit amet ", count: 1 + $0 % 4) }
        let replies: [Int]
        do {
            replies = try await withThrowingTaskGroup(of: Int.self) { group in
                for text in texts {
                    group.addTask {
                        let json = String(
                            data: try JSONSerialization.data(withJSONObject: ["input": Array(repeating: text, count: 8), "lane": "bulk"]), encoding: .utf8)!
                        var request = HTTPClientRequest(url: base + "/v1/moderations")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: json))
                        return Int(try await client.execute(request, timeout: .seconds(120)).status.code)
                    }
                }
                // Wait until the server has taken every request (in progress or answered, from /metrics), then ask it
                // to stop while they are being scored: a request still connecting would not have been accepted.
                try await waitUntil("every request in the server's hands", timeout: .seconds(60), every: .milliseconds(20)) {
                    try await Self.acceptedPOSTRequests(client, base) >= texts.count
                }
                server.send(SIGTERM)
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
        } catch {
            // A client left running traps in its deinit and takes the whole test process down with it.
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        #expect(replies.count == texts.count)
        #expect(replies.allSatisfy { $0 == 200 }, "statuses: \(replies)")
        #expect(try await server.waitForExit() == 0)
    }

    /// The POST requests the server has taken: those in progress (Hummingbird's `http.server.active_requests`
    /// meter on `/metrics`) and those it has answered (`hb_requests`, every status).
    static func acceptedPOSTRequests(_ client: HTTPClient, _ base: String) async throws -> Int {
        let response = try await client.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
        let lines = text.split(separator: "\n").filter {
            ($0.hasPrefix("http_server_active_requests{") || $0.hasPrefix("hb_requests{")) && $0.contains(#"http_request_method="POST""#)
        }
        return lines.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0) { $0 + Int($1) }
    }

    @Test("a missing model folder exits 1 with one clear line")
    func missingModel() async throws {
        let server = try launchServe(["--model", "/nonexistent/model-bundle"])
        #expect(try await server.waitForExit() == 1)
        #expect(
            server.standardError.contains("warden: cannot load the model in /nonexistent/model-bundle: /nonexistent/model-bundle: model folder does not exist"))
    }

    @Test("a corrupt model file exits 1 naming the file, and environment variables configure the server")
    func corruptModel() async throws {
        let temporary = try TempFolder()
        let folder = temporary.url
        let manifest = try String(contentsOfFile: Paths.tinyBert + "/manifest.json", encoding: .utf8)
            .replacingOccurrences(of: "../../../tokenizer", with: Paths.repository.appendingPathComponent("tokenizer").path)
        try manifest.write(to: folder.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        try Data("not a model".utf8).write(to: folder.appendingPathComponent("model.pt"))
        let server = try launchServe([], environment: ["WARDEN_MODEL": folder.path])
        #expect(try await server.waitForExit() == 1)
        #expect(server.standardError.contains("model.pt"))
        #expect(server.standardError.contains("warden: cannot load the model in \(folder.path)"))
    }

    @Test("SIGTERM with clients stuck mid-upload exits 0 within the drain timeout")
    func drainTimeout() async throws {
        let server = try launchServe(["--model", Paths.tinyBert, "--drain-timeout-s", "2", "--body-timeout-s", "120"])
        let base = try await server.waitUntilReady()
        let port = RawConnection.port(of: base)
        var uploaders: [RawConnection] = []
        for _ in 0..<3 {
            let client = try RawConnection(port: port)
            client.send("POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"input\": \"")
            uploaders.append(client)
        }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        server.send(SIGTERM)
        let status = try await server.waitForExit(timeout: .seconds(30))
        let took = clock.now - start
        #expect(status == 0, "\(server.standardError)")
        #expect(took < .seconds(12), "took \(took) with a 2 s drain timeout")
        #expect(server.standardError.contains("drain timeout reached"))
        for client in uploaders { client.close() }
    }

    @Test("at the drain timeout, requests still queued get 503 shutting_down, not a bare close")
    func queuedWorkAtTheDrainTimeoutIs503() async throws {
        // The real default model on one worker: 100 bulk requests are 10 s of work or more, more than 2 + 5 s.
        // (The queue is answered 1 s before the 5 s drain timeout: time for the batch then on the model.)
        // The longest bulk deadline, so that admission never refuses any of them on a loaded machine.
        let server = try launchServe([
            "--model", Paths.defaultModel, "--workers", "1", "--max-batch-size", "8", "--cache-size", "0",
            "--drain-timeout-s", "5", "--bulk-deadline-ms", "600000",
        ])
        let base = try await server.waitUntilReady()
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)))
        let replies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<100 {
                group.addTask {
                    let texts = (0..<8).map { "request \(index) text \($0) " + String(repeating: "we walked to the park and back home ", count: 12) }
                    let json = String(data: try JSONSerialization.data(withJSONObject: ["input": texts, "lane": "bulk"]), encoding: .utf8)!
                    var request = HTTPClientRequest(url: base + "/v1/moderations")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: json))
                    do {
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        return (Int(response.status.code), String(buffer: body))
                    } catch {
                        return (0, "\(error)")
                    }
                }
            }
            // Every request has reached the server (one connection each) well before this; the work lasts longer.
            try await Task.sleep(for: .seconds(2))
            server.send(SIGTERM)
            var replies: [(Int, String)] = []
            for try await reply in group { replies.append(reply) }
            return replies
        }
        try await client.shutdown()
        let refused = replies.filter { $0.0 == 503 }
        #expect(replies.allSatisfy { $0.0 == 200 || $0.0 == 503 }, "\(replies.filter { $0.0 != 200 && $0.0 != 503 }.prefix(3))")
        #expect(!refused.isEmpty, "all 100 finished within the 5 s drain: the test needs more work queued")
        #expect(refused.allSatisfy { $0.1.contains("shutting_down") }, "\(refused.prefix(2))")
        #expect(try await server.waitForExit(timeout: .seconds(30)) == 0, "\(server.standardError)")
    }

    @Test("memory that request bodies took while no batch ran is given back, without waiting for work")
    func bodyMemoryIsGivenBackWhileIdle() async throws {
        let server = try launchServe(["--model", Paths.tinyBert, "--body-timeout-s", "3", "--max-body-bytes", "1048576"])
        let base = try await server.waitUntilReady()
        let port = RawConnection.port(of: base)
        let pid = String(server.pid)
        // Past the release's first tick (10 s after start): the server has been idle and released once
        // already, so only a release triggered by the new growth can give the memory back.
        try await Task.sleep(for: .seconds(11))
        let before = residentBytes(pid: pid)
        var uploaders: [RawConnection] = []
        let chunk = String(repeating: "a", count: 900_000)
        for _ in 0..<150 {
            let client = try RawConnection(port: port)
            client.send(
                "POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1048000\r\n\r\n{\"input\": \"" + chunk)
            uploaders.append(client)
        }
        var held = before
        for _ in 0..<50 where held < before + (100 << 20) {
            try await Task.sleep(for: .milliseconds(100))
            held = residentBytes(pid: pid)
        }
        for client in uploaders { client.close() }
        // Bodies still arriving after the loop above grow the process further: the peak is what is held.
        for _ in 0..<10 {
            try await Task.sleep(for: .milliseconds(100))
            held = max(held, residentBytes(pid: pid))
        }
        let grown = held - before
        #expect(grown > 50 << 20, "the uploads took only \(grown >> 20) MB: nothing to give back")
        // The release runs on a 10 s tick: within a few ticks the memory is back, with no request scored.
        var after = held
        let clock = ContinuousClock()
        let end = clock.now + .seconds(45)
        // What glibc can return is whole free pages: with the suite's other servers and brokers running beside
        // this one, a part of the freed body buffers stays fragmented, so the bar is a quarter of the growth
        // (with no release at all, RSS stays at `held`).
        while clock.now < end && after > held - grown / 4 {
            try await Task.sleep(for: .milliseconds(500))
            after = residentBytes(pid: pid)
        }
        #expect(after <= held - grown / 4, "RSS \(before >> 20) MB -> \(held >> 20) MB held -> \(after >> 20) MB 45 s later")
        server.send(SIGTERM)
        #expect(try await server.waitForExit(timeout: .seconds(30)) == 0)
    }

    @Test("a client that hangs up mid-body is not an ERROR in the log")
    func hangUpIsNotAnError() async throws {
        let server = try launchServe(["--model", Paths.tinyBert, "--log-level", "info"])
        let base = try await server.waitUntilReady()
        for _ in 0..<5 {
            let client = try RawConnection(port: RawConnection.port(of: base))
            client.send("POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"input\": \"abc")
            try await Task.sleep(for: .milliseconds(50))
            client.close()
        }
        try await Task.sleep(for: .milliseconds(500))
        server.send(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        let errors = server.standardError.split(separator: "\n").filter { $0.contains(" error ") || $0.contains(" critical ") }
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test("an API key file other users can read is warned about")
    func keyFilePermissions() async throws {
        let temporary = try TempFolder()
        let folder = temporary.url
        let file = folder.appendingPathComponent("keys").path
        try "key-file-0123456789abcdef\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        let open = try launchServe(["--model", Paths.tinyBert, "--api-key-file", file])
        _ = try await open.waitUntilReady()
        #expect(open.standardError.contains("can be read by other users"))
        open.send(SIGTERM)
        _ = try await open.waitForExit()
        chmod(file, 0o600)
        let closed = try launchServe(["--model", Paths.tinyBert, "--api-key-file", file])
        _ = try await closed.waitUntilReady()
        #expect(!closed.standardError.contains("can be read by other users"))
        closed.send(SIGTERM)
        _ = try await closed.waitForExit()
    }

    @Test("a delay or timeout that is not a finite number is a validation error, not a crash")
    func nonFiniteSettings() async throws {
        for arguments in [
            ["--max-queue-delay-ms", "nan"], ["--max-queue-delay-ms", "inf"], ["--bulk-max-queue-delay-ms", "1e300"],
            ["--drain-timeout-s", "nan"], ["--body-timeout-s", "-1"],
        ] {
            let server = try launchServe(["--model", Paths.tinyBert] + arguments)
            let status = try await server.waitForExit(timeout: .seconds(30))
            #expect(status == 64, "\(arguments): exit \(status), \(server.standardError)")
            #expect(server.standardError.contains(arguments[0]), "\(arguments): \(server.standardError)")
        }
    }
}

import Foundation
import Testing
import WardenCore
import WardenGateway
import WardenServer
import WardenTestSupport

/// What an attacker or an unlucky client can do to the real server on loopback, and what it must not cost
/// anyone else: hung-up clients, slow bodies, too many connections, oversized chunked bodies.
@Suite("The server under abuse", .serialized, .timeLimit(.minutes(3)))
struct HardeningTests {
    static func request(_ body: String, path: String = "/v1/moderations") -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test("a client that hangs up has its queued work cancelled: none of it is computed")
    func disconnectCancels() async throws {
        let hold = Gate(open: true)
        let server = EngineSlot()
        try await withWarden(hold: hold, configure: { $0.oneTextPerBatch(engineIn: server) }) { (base: String) async throws in
            hold.close()
            let warm = hold.entered
            let texts = (0..<8).map { "hung up message number \($0) about the weekend" }
            let body = String(data: try JSONSerialization.data(withJSONObject: ["input": texts, "lane": "bulk"]), encoding: .utf8)!
            let client = try RawConnection(port: RawConnection.port(of: base))
            client.send(Self.request(body))
            await hold.waitUntilEntered(warm + 1)  // the first text is on the model; seven wait in the queue
            client.close()  // the client hangs up
            // The seven waiting texts leave the queue once the server sees the hang-up: none can run after.
            try await waitUntil("the hung-up request's queued texts to be cancelled") {
                server.engine?.moderator?.batcher.queueDepth(.bulk) == 0
            }
            hold.open()
            #expect(hold.entered == warm + 1, "\(hold.entered - warm) batches ran for a client that was gone")
            // The server still answers others.
            #expect(try await HTTP.post(base + "/v1/moderations", json: #"{"input": "still here"}"#).status == 200)
        }
    }

    @Test("a body trickling in is closed at the body deadline, whatever the idle timer says")
    func slowBodyClosed() async throws {
        try await withWarden(configure: { $0.server.bodyTimeout = .seconds(1) }) { (base: String) async throws in
            let client = try RawConnection(port: RawConnection.port(of: base))
            client.send("POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"input\": \"")
            let start = ContinuousClock.now
            var closed = false
            // One byte every 200 ms: each resets an idle timer, none finishes the body.
            for _ in 0..<40 where !closed {
                client.send("a")
                closed = await client.read(timeout: .milliseconds(200)).closed
            }
            #expect(closed, "the connection was still open after 8 s")
            #expect(ContinuousClock.now - start < .seconds(6))
        }
    }

    @Test("past the connection cap a request gets a clean 503 too_many_connections, not a hang")
    func connectionCap() async throws {
        try await withWarden(configure: { $0.server.maxConnections = 3 }) { (base: String) async throws in
            let port = RawConnection.port(of: base)
            var open: [RawConnection] = []
            var refused: String?
            for index in 0..<8 where refused == nil {
                let client = try RawConnection(port: port)
                open.append(client)
                client.send(Self.request(#"{"input": "connection \#(index)"}"#))
                let reply = await client.read(timeout: .seconds(20)) { $0.contains("\r\n\r\n{") && $0.hasSuffix("}") }
                if reply.text.hasPrefix("HTTP/1.1 503") { refused = reply.text } else { #expect(reply.text.hasPrefix("HTTP/1.1 200"), "\(reply.text)") }
            }
            let refusal = try #require(refused, "eight connections were all accepted with a cap of 3")
            #expect(open.count <= 4, "refused only after \(open.count) connections")
            #expect(refusal.contains("too_many_connections"))
            #expect(refusal.lowercased().contains("retry-after: 1"))
            for client in open { client.close() }
            // Room again once the server has seen them go.
            try await waitUntil("a connection to be accepted again", every: .milliseconds(50)) {
                let again = try RawConnection(port: port)
                defer { again.close() }
                again.send(Self.request(#"{"input": "after"}"#))
                return await again.read(timeout: .seconds(20)) { $0.hasSuffix("}") }.text.hasPrefix("HTTP/1.1 200")
            }
        }
    }

    @Test("a Content-Length over the limit (10^18 too) is 413 from the head alone, and the connection closes at once")
    func declaredLengthTooLarge() async throws {
        try await withWarden(configure: { $0.server.limits.maxBodyBytes = 2048 }) { (base: String) async throws in
            // (A length too large for 64 bits never gets here: the HTTP parser answers 400 and closes.)
            for length in ["1000000000000000000", "9223372036854775807", "40000"] {
                let client = try RawConnection(port: RawConnection.port(of: base))
                let start = ContinuousClock.now
                client.send(
                    "POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n{\"input\": \"")
                let reply = await client.read(timeout: .seconds(20)) { $0.contains("}}") }
                #expect(reply.text.hasPrefix("HTTP/1.1 413"), "\(length): \(reply.text)")
                #expect(reply.text.contains("body_too_large"))
                #expect(reply.text.lowercased().contains("connection: close"))
                // The server closes: the client is not left holding the connection until the body deadline.
                let closed = reply.closed ? true : await client.read(timeout: .seconds(5)).closed
                #expect(closed, "\(length): the connection stayed open")
                #expect(ContinuousClock.now - start < .seconds(10))
                client.close()
            }
            // A body a little over the limit is refused from its head, read and thrown away, and the connection
            // serves the next request (a pooled client reuses it).
            let client = try RawConnection(port: RawConnection.port(of: base))
            let big = #"{"input": ""# + String(repeating: "a", count: 3000) + #""}"#
            client.send(Self.request(big))
            let refused = await client.read(timeout: .seconds(20)) { $0.contains("}}") }
            #expect(refused.text.hasPrefix("HTTP/1.1 413"), "\(refused.text)")
            #expect(!refused.text.lowercased().contains("connection: close"))
            client.send(Self.request(#"{"input": "fine"}"#))
            let next = await client.read(timeout: .seconds(20)) { $0.contains("\"results\"") && $0.hasSuffix("}") }
            #expect(next.text.hasPrefix("HTTP/1.1 200"), "\(next.text)")
            client.close()
            // A body within the limit is still served.
            #expect(try await HTTP.post(base + "/v1/moderations", json: #"{"input": "fine"}"#).status == 200)
        }
    }

    @Test("an oversized chunked body is 413 body_too_large, not a 500")
    func chunkedTooLarge() async throws {
        try await withWarden(configure: { $0.server.limits.maxBodyBytes = 2048 }) { (base: String) async throws in
            let client = try RawConnection(port: RawConnection.port(of: base))
            let chunk = "{\"input\": \"" + String(repeating: "a", count: 3000) + "\"}"
            client.send(
                "POST /v1/moderations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n0\r\n\r\n")
            let reply = await client.read(timeout: .seconds(20)) { $0.contains("}}") }
            #expect(reply.text.hasPrefix("HTTP/1.1 413"), "\(reply.text)")
            #expect(reply.text.contains("body_too_large"))
        }
    }
}

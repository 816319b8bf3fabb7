import Foundation
import Testing
import WardenCore
import WardenGateway
import WardenServer
import WardenTestSupport

@Suite("HTTP errors: status and JSON body", .serialized, .timeLimit(.minutes(3)))
struct ErrorTests {
    /// Asserts a JSON error body with the given status and code.
    func expectError(_ reply: HTTP.Reply, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.errorCode == code, "\(reply.text)", sourceLocation: sourceLocation)
        let error = (try? reply.json())?["error"] as? [String: Any]
        #expect((error?["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error?["type"] is String, sourceLocation: sourceLocation)
    }

    @Test("malformed requests are 400/413/415/422 with a JSON error")
    func requestErrors() async throws {
        try await withWarden(configure: {
            $0.server.limits.maxBodyBytes = 4096
            $0.server.limits.maxInputs = 4
        }) { (base: String) async throws in
            let url = base + "/v1/moderations"
            expectError(try await HTTP.post(url, json: #"{"input": "unterminated"#), 400, "invalid_json")
            expectError(try await HTTP.post(url, json: #"{"input": 42}"#), 400, "invalid_json")
            expectError(try await HTTP.post(url, json: #"{"text": "wrong field"}"#), 400, "invalid_json")
            expectError(try await HTTP.post(url, json: #"{"input": ["ok", 7]}"#), 400, "invalid_json")
            expectError(try await HTTP.post(url, json: #"{"input": "x", "deadline_ms": 1e400}"#), 400, "invalid_json")
            expectError(try await HTTP.post(url, json: #"{"input": []}"#), 400, "empty_input")
            expectError(try await HTTP.post(url, json: #"{"input": "   "}"#), 400, "empty_text")
            expectError(try await HTTP.post(url, json: #"{"input": ["fine", ""]}"#), 400, "empty_text")
            expectError(
                try await HTTP.post(url, bytes: Data([0x7B, 0x22, 0x69, 0x6E, 0x70, 0x75, 0x74, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D])), 400, "invalid_utf8"
            )
            expectError(try await HTTP.post(url, json: #"{"input": "\#(String(repeating: "a", count: 5000))"}"#), 413, "body_too_large")
            expectError(try await HTTP.post(url, json: #"{"input": ["a", "b", "c", "d", "e"]}"#), 422, "too_many_inputs")
            expectError(try await HTTP.post(url, json: #"{"input": "x", "thresholds": {"nsfw": 0.5}}"#), 422, "invalid_thresholds")
            expectError(try await HTTP.post(url, json: #"{"input": "x", "thresholds": {"toxic": 2}}"#), 422, "invalid_thresholds")
            expectError(try await HTTP.post(url, json: #"{"input": "x", "lane": "fast"}"#), 422, "invalid_lane")
            expectError(try await HTTP.post(url, json: #"{"input": "x", "deadline_ms": 0}"#), 422, "invalid_deadline_ms")
            expectError(try await HTTP.post(url, bytes: Data("input=x".utf8), contentType: "application/x-www-form-urlencoded"), 415, "unsupported_media_type")
            expectError(try await HTTP.post(url, bytes: Data(#"{"input": "x"}"#.utf8), contentType: nil), 415, "unsupported_media_type")
            expectError(try await HTTP.get(base + "/v1/nothing-here"), 404, "not_found")
            // And the server still works.
            #expect(try await HTTP.post(url, json: #"{"input": "still alive"}"#).status == 200)
        }
    }

    @Test("a request whose deadline passes while queued is answered 504")
    func deadline() async throws {
        let hold = Gate(open: true)
        let server = EngineSlot()
        try await withWarden(hold: hold, configure: { $0.oneTextPerBatch(engineIn: server) }) { (base: String) async throws in
            let url = base + "/v1/moderations"
            hold.close()
            let warm = hold.entered
            async let busy = HTTP.post(url, json: #"{"input": "occupies the model for a while"}"#)
            await hold.waitUntilEntered(warm + 1)
            // The model is busy: this request queues behind it with a 100 ms deadline, which passes before
            // the model is released (at least 200 ms after the request was seen in the queue).
            async let late = HTTP.post(url, json: #"{"input": "cannot wait long", "deadline_ms": 100}"#)
            try await waitUntil("the late request to be queued") {
                server.engine?.moderator?.batcher.queueDepth(.interactive) == 1
            }
            try await Task.sleep(for: .milliseconds(200))
            hold.open()
            let expired = try await late
            #expect(expired.status == 504)
            #expect(expired.errorCode == "deadline_exceeded")
            #expect(try await busy.status == 200)
        }
    }

    @Test("beyond the admission bound, requests are refused at once with 429 and Retry-After")
    func overload() async throws {
        let hold = Gate(open: true)
        try await withWarden(
            hold: hold,
            configure: {
                $0.engine.batching.maxBatchSize = 1
                $0.engine.batching.maxQueuedItems = 2
                $0.engine.moderator.cacheCapacity = 0
            }
        ) { (base: String) async throws in
            let url = base + "/v1/moderations"
            hold.close()
            let warm = hold.entered
            async let busy = HTTP.post(url, json: #"{"input": "occupies the model"}"#)
            await hold.waitUntilEntered(warm + 1)
            // With the model busy, the queue admits 2 of these 11 and refuses the other 9 at once.
            let replies = try await withThrowingTaskGroup(of: HTTP.Reply?.self) { group in
                for index in 0..<11 { group.addTask { try await HTTP.post(url, json: #"{"input": "message \#(index)"}"#) } }
                // Should admission ever admit more than 2, release the model anyway so the test fails, not hangs.
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    hold.open()
                    return nil
                }
                var all: [HTTP.Reply] = []
                while all.count < 9, let reply = try await group.next() {
                    if let reply { all.append(reply) }
                }
                hold.open()
                while all.count < 11, let reply = try await group.next() {
                    if let reply { all.append(reply) }
                }
                group.cancelAll()  // the watchdog
                return all
            }
            #expect(try await busy.status == 200)
            #expect(replies.count == 11)
            let refused = replies.filter { $0.status == 429 }
            #expect(refused.count == 9)
            #expect(replies.filter { $0.status == 200 }.count == 2)
            for reply in refused {
                #expect(reply.errorCode == "overloaded")
                #expect(Int(reply.header("Retry-After") ?? "") ?? 0 >= 1)
            }
        }
    }

    @Test("API keys: required on /v1 when configured, compared exactly; health stays open")
    func authentication() async throws {
        let key = "test-key-0123456789abcdef"
        try await withWarden(configure: { $0.server.apiKeys = [key, "another-key-0123456789"] }) { (base: String) async throws in
            let url = base + "/v1/moderations"
            expectError(try await HTTP.post(url, json: #"{"input": "x"}"#), 401, "invalid_api_key")
            expectError(
                try await HTTP.post(url, json: #"{"input": "x"}"#, headers: [("Authorization", "Bearer wrong-key-0123456789abc")]), 401, "invalid_api_key")
            expectError(try await HTTP.post(url, json: #"{"input": "x"}"#, headers: [("Authorization", "Bearer \(key)x")]), 401, "invalid_api_key")
            expectError(try await HTTP.post(url, json: #"{"input": "x"}"#, headers: [("Authorization", "Basic \(key)")]), 401, "invalid_api_key")
            #expect(try await HTTP.post(url, json: #"{"input": "x"}"#, headers: [("Authorization", "Bearer \(key)")]).status == 200)
            #expect(try await HTTP.get(base + "/v1/models", headers: [("Authorization", "Bearer another-key-0123456789")]).status == 200)
            #expect(try await HTTP.get(base + "/healthz").status == 200)
            #expect(try await HTTP.get(base + "/readyz").status == 200)
            #expect(try await HTTP.get(base + "/metrics").status == 200)
        }
        try await withWarden(configure: {
            $0.server.apiKeys = [key]
            $0.server.protectMetrics = true
        }) { (base: String) async throws in
            #expect(try await HTTP.get(base + "/metrics").status == 401)
            #expect(try await HTTP.get(base + "/metrics", headers: [("Authorization", "Bearer \(key)")]).status == 200)
        }
    }

    @Test("without keys configured, no authentication is needed")
    func noAuthentication() async throws {
        try await withWarden { (base: String) async throws in
            #expect(try await HTTP.post(base + "/v1/moderations", json: #"{"input": "x"}"#).status == 200)
        }
    }
}

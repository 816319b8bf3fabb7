import Foundation
import Testing
import WardenCore
import WardenTestSupport

@Suite("HTTP endpoints on a real server", .serialized, .timeLimit(.minutes(3)))
struct EndpointTests {
    @Test("health, readiness, models and metrics answer")
    func infoEndpoints() async throws {
        try await withWarden { (base: String) async throws in
            let health = try await HTTP.get(base + "/healthz")
            #expect(health.status == 200)
            #expect(try health.json()["status"] as? String == "ok")

            let ready = try await HTTP.get(base + "/readyz")
            #expect(ready.status == 200)
            #expect(try ready.json()["model"] as? String == "tiny-bert")

            let models = try await HTTP.get(base + "/v1/models")
            #expect(models.status == 200)
            let data = try #require(try models.json()["data"] as? [[String: Any]])
            #expect(data.first?["id"] as? String == "tiny-bert")
            #expect(data.first?["labels"] as? [String] == ["toxic", "hate", "spam"])
            #expect(data.first?["max_sequence_length"] as? Int == 128)
            #expect(data.first?["precision"] as? String == "fp32")

            _ = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "metrics need one request"}"#)
            let metrics = try await HTTP.get(base + "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("warden_"))
            #expect(metrics.text.contains(#"warden_runtime_info{precision="fp32",blas_core=""#), "\(metrics.text)")
        }
    }

    @Test("/v1/models and warden_runtime_info report the precision the backends compute in, not the one the bundle states")
    func precisionInUse() async throws {
        // The fixture is stored in fp32; its backend says it computes in bf16, as one loaded by a plan would differ.
        try await withWarden(reportedPrecision: "bf16") { (base: String) async throws in
            let models = try await HTTP.get(base + "/v1/models")
            let data = try #require(try models.json()["data"] as? [[String: Any]])
            #expect(data.first?["precision"] as? String == "bf16")
            let metrics = try await HTTP.get(base + "/metrics")
            #expect(metrics.text.contains(#"warden_runtime_info{precision="bf16",blas_core=""#), "\(metrics.text)")
        }
    }

    @Test("a single text gets OpenAI's moderation shape, a request id and stage timings")
    func singleText() async throws {
        try await withWarden { (base: String) async throws in
            let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello, how was your day?"}"#)
            #expect(reply.status == 200)
            let body = try reply.json()
            let id = try #require(body["id"] as? String)
            #expect(id.hasPrefix("modr-"))
            #expect(reply.header("X-Request-Id") == id)
            #expect(body["model"] as? String == "tiny-bert")
            let results = try #require(body["results"] as? [[String: Any]])
            #expect(results.count == 1)
            let categories = try #require(results[0]["categories"] as? [String: Bool])
            let scores = try #require(results[0]["category_scores"] as? [String: Double])
            #expect(Set(categories.keys) == ["toxic", "hate", "spam"])
            #expect(Set(scores.keys) == ["toxic", "hate", "spam"])
            #expect(scores.values.allSatisfy { (0...1).contains($0) })
            #expect(results[0]["flagged"] as? Bool == categories.values.contains(true))
            let timing = try #require(reply.header("Server-Timing"))
            #expect(timing.contains("tokenize;dur=") && timing.contains("queue;dur=") && timing.contains("inference;dur="))
        }
    }

    @Test("a batch answers in input order, each result equal to scoring the text alone")
    func batchOrder() async throws {
        try await withWarden(configure: { $0.engine.moderator.cacheCapacity = 0 }) { (base: String) async throws in
            let texts = ["first message", "a second, somewhat longer message about the weekend plans", "3rd", "first message"]
            let json = String(data: try JSONSerialization.data(withJSONObject: ["input": texts]), encoding: .utf8)!
            let batch = try await HTTP.post(base + "/v1/moderations", json: json)
            #expect(batch.status == 200)
            let results = try #require(try batch.json()["results"] as? [[String: Any]])
            #expect(results.count == texts.count)
            for (index, text) in texts.enumerated() {
                let single = try await HTTP.post(
                    base + "/v1/moderations", json: String(data: try JSONSerialization.data(withJSONObject: ["input": text]), encoding: .utf8)!)
                let alone = try #require(try single.json()["results"] as? [[String: Any]])[0]["category_scores"] as? [String: Double]
                let inBatch = results[index]["category_scores"] as? [String: Double]
                for label in ["toxic", "hate", "spam"] {
                    #expect(abs((alone?[label] ?? -1) - (inBatch?[label] ?? 1)) < 1e-5, "text \(index) label \(label)")
                }
            }
        }
    }

    @Test("per-request thresholds change the verdict, not the scores")
    func thresholds() async throws {
        try await withWarden { (base: String) async throws in
            let low = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "x", "thresholds": {"toxic": 0, "hate": 0, "spam": 0}}"#)
            let high = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "x", "thresholds": {"toxic": 1, "hate": 1, "spam": 1}}"#)
            let lowResult = try #require(try low.json()["results"] as? [[String: Any]])[0]
            let highResult = try #require(try high.json()["results"] as? [[String: Any]])[0]
            #expect(lowResult["flagged"] as? Bool == true)
            #expect(highResult["flagged"] as? Bool == false)
            #expect((lowResult["category_scores"] as? [String: Double]) == (highResult["category_scores"] as? [String: Double]))
        }
    }

    @Test("many concurrent clients each get their own answer")
    func concurrentClients() async throws {
        try await withWarden(configure: { $0.engine.moderator.cacheCapacity = 0 }) { (base: String) async throws in
            let texts = (0..<48).map { "message number \($0) " + String(repeating: "word ", count: $0 % 20) }
            var expected: [String: [String: Double]] = [:]
            for text in texts.prefix(8) {
                let reply = try await HTTP.post(
                    base + "/v1/moderations", json: String(data: try JSONSerialization.data(withJSONObject: ["input": text]), encoding: .utf8)!)
                expected[text] = try #require(try reply.json()["results"] as? [[String: Any]])[0]["category_scores"] as? [String: Double]
            }
            let answers = try await withThrowingTaskGroup(of: (String, Int, [String: Double]?).self) { group in
                for text in texts {
                    group.addTask {
                        let reply = try await HTTP.post(
                            base + "/v1/moderations", json: String(data: try JSONSerialization.data(withJSONObject: ["input": text]), encoding: .utf8)!)
                        let scores = (try? reply.json())?["results"].flatMap { ($0 as? [[String: Any]])?.first?["category_scores"] as? [String: Double] }
                        return (text, reply.status, scores)
                    }
                }
                var all: [(String, Int, [String: Double]?)] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(answers.count == texts.count)
            #expect(answers.allSatisfy { $0.1 == 200 })
            for (text, _, scores) in answers {
                guard let want = expected[text] else { continue }
                for label in want.keys { #expect(abs(want[label]! - (scores?[label] ?? -1)) < 1e-5) }
            }
        }
    }

    @Test("before the model is warm, readiness and moderation answer 503 while health stays 200")
    func notReady() async throws {
        let gate = Gate()
        try await withWarden(loading: gate, waitUntilReady: false) { (base: String) async throws in
            #expect(try await HTTP.get(base + "/healthz").status == 200)
            let ready = try await HTTP.get(base + "/readyz")
            #expect(ready.status == 503)
            #expect(ready.errorCode == "not_ready")
            let moderate = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "too early"}"#)
            #expect(moderate.status == 503)
            #expect(moderate.errorCode == "not_ready")
            #expect(moderate.header("Retry-After") != nil)
            gate.open()
            try await waitForReady(base)
            #expect(try await HTTP.post(base + "/v1/moderations", json: #"{"input": "now"}"#).status == 200)
        }
    }
}

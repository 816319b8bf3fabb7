import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WardenCore
import WardenServer
import WardenTestSupport
import WordPiece

/// HTTP semantics of every route, through Hummingbird's router test framework: the real application
/// (routes, middlewares, error mapping, the real engine with its queue, moderator and tokenizer), with a
/// deterministic backend in place of libtorch. Scores are `LengthBackend`'s: (tokens mod 100) / 100.
@Suite("HTTP routes on a deterministic backend", .timeLimit(.minutes(2)))
struct RouterTests {
    /// The tiny-bert bundle's manifest and tokenizer; the model file is never loaded.
    static func engine(loading: Gate = Gate(open: true), backend: LengthBackend = LengthBackend(labelCount: 3),
                       configure: (inout EngineConfiguration) -> Void = { _ in }) throws -> ModerationEngine {
        var configuration = EngineConfiguration()
        configuration.workers = 1
        configuration.batching.interactive.defaultDeadline = .seconds(60)
        configuration.batching.interactive.maxDeadline = .seconds(60)
        configure(&configuration)
        return try ModerationEngine(modelDirectory: TestPaths.tinyBert.path, configuration: configuration,
                                    backends: BackendLoader { _, _ in
                                        await loading.pass()
                                        return [backend]
                                    }, logger: Logger(label: "test"))
    }

    /// The tiny-bert bundle as the default model declares its labels: `toxic` answers as `harassment`, `hate`
    /// as `hate`, `spam` under its own name.
    static func openAIEngine() throws -> ModerationEngine {
        let b = try ModelBundle.load(directory: TestPaths.tinyBert.path)
        let bundle = ModelBundle(directory: b.directory, name: b.name, version: b.version, modelPath: b.modelPath, labels: b.labels,
                                 thresholds: b.thresholds, maxSequenceLength: b.maxSequenceLength, tokenizerDirectory: b.tokenizerDirectory,
                                 textNormalization: b.textNormalization, openAICategories: ["toxic": "harassment", "hate": "hate"])
        var configuration = EngineConfiguration()
        configuration.workers = 1
        return try ModerationEngine(bundle: bundle, tokenizer: try WordPieceTokenizer(directory: bundle.tokenizerDirectory),
                                    configuration: configuration, backends: BackendLoader.existing([LengthBackend(labelCount: 3)]),
                                    logger: Logger(label: "test"))
    }

    /// The tiny-bert bundle with its first label renamed `harassment` and `toxic` kept as a former name
    /// (`label_aliases`), as the default model ships it.
    static func renamedLabelEngine() throws -> ModerationEngine {
        let b = try ModelBundle.load(directory: TestPaths.tinyBert.path)
        let bundle = ModelBundle(directory: b.directory, name: b.name, version: b.version, modelPath: b.modelPath,
                                 labels: ["harassment", "hate", "spam"], thresholds: b.thresholds,
                                 maxSequenceLength: b.maxSequenceLength, tokenizerDirectory: b.tokenizerDirectory,
                                 textNormalization: b.textNormalization,
                                 openAICategories: ["harassment": "harassment", "hate": "hate"],
                                 labelAliases: ["toxic": "harassment"])
        var configuration = EngineConfiguration()
        configuration.workers = 1
        return try ModerationEngine(bundle: bundle, tokenizer: try WordPieceTokenizer(directory: bundle.tokenizerDirectory),
                                    configuration: configuration, backends: BackendLoader.existing([LengthBackend(labelCount: 3)]),
                                    logger: Logger(label: "test"))
    }

    static func app(_ engine: ModerationEngine, configure: (inout ServerConfiguration) -> Void = { _ in }) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.logLevel = .critical
        configure(&configuration)
        return buildApplication(configuration: configuration, engine: engine)
    }

    static func post(_ client: some TestClientProtocol, _ body: String, path: String = "/v1/moderations",
                     headers: HTTPFields = [.contentType: "application/json"]) async throws -> (HTTPResponse.Status, HTTPFields, [String: Any]) {
        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            return (response.status, response.headers, object)
        }
    }

    static func waitUntilReady(_ client: some TestClientProtocol) async throws {
        for _ in 0..<600 {
            let status = try await client.execute(uri: "/readyz", method: .get) { $0.status }
            if status == .ok { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("never ready")
    }

    static func code(_ object: [String: Any]) -> String? { (object["error"] as? [String: Any])?["code"] as? String }

    @Test("scores come back in input order, in OpenAI's shape, with Warden's timing headers")
    func scoresInOrder() async throws {
        let engine = try Self.engine()
        try await Self.app(engine).test(.router) { client in
            try await Self.waitUntilReady(client)
            let texts = ["hi", "a somewhat longer message about the weekend", "hi"]
            let body = String(data: try JSONSerialization.data(withJSONObject: ["input": texts]), encoding: .utf8)!
            let (status, headers, object) = try await Self.post(client, body)
            #expect(status == .ok)
            #expect(object["model"] as? String == "tiny-bert")
            let results = try #require(object["results"] as? [[String: Any]])
            #expect(results.count == 3)
            let tokenizer = engine.tokenizer
            for (text, result) in zip(texts, results) {
                let expected = Double(LengthBackend.score(length: tokenizer.encode(text, maxLength: 128).ids.count))
                let scores = try #require(result["category_scores"] as? [String: Double])
                #expect(Set(scores.keys) == ["toxic", "hate", "spam"])
                #expect(scores.values.allSatisfy { abs($0 - expected) < 1e-6 }, "\(text): \(scores)")
                let flags = try #require(result["categories"] as? [String: Bool])
                #expect(flags.values.allSatisfy { $0 == (expected >= 0.5) })
            }
            #expect(headers[HTTPField.Name("Server-Timing")!]?.contains("inference;dur=") == true)
            #expect(headers[HTTPField.Name("X-Request-Id")!] == object["id"] as? String)
        }
    }

    @Test("a text with nothing to score once normalised is 400 empty_text naming its index, and nothing is scored")
    func nothingToScore() async throws {
        try await Self.app(try Self.engine()).test(.router) { client in
            try await Self.waitUntilReady(client)
            for (body, index) in [(#"{"input": ["fine", "&nbsp;"]}"#, 1), (#"{"input": "\uE000\uE001"}"#, 0),
                                  (#"{"input": ["\u200B\u2060", "x"]}"#, 0), (#"{"input": "   "}"#, 0)] {
                let (status, _, object) = try await Self.post(client, body)
                #expect(status == .badRequest, "\(body)")
                #expect(Self.code(object) == "empty_text", "\(body)")
                let message = (object["error"] as? [String: Any])?["message"] as? String
                #expect(message?.contains("input[\(index)]") == true, "\(body): \(message ?? "")")
            }
        }
    }

    @Test("malformed requests get the right status and a JSON error body")
    func malformed() async throws {
        try await Self.app(try Self.engine(), configure: { $0.limits.maxBodyBytes = 2048; $0.limits.maxInputs = 3 }).test(.router) { client in
            try await Self.waitUntilReady(client)
            let cases: [(String, HTTPFields, HTTPResponse.Status, String)] = [
                (#"{"input": "#, [.contentType: "application/json"], .badRequest, "invalid_json"),
                (#"{"input": 7}"#, [.contentType: "application/json"], .badRequest, "invalid_json"),
                (#"{"input": []}"#, [.contentType: "application/json"], .badRequest, "empty_input"),
                (#"{"input": ["a", "b", "c", "d"]}"#, [.contentType: "application/json"], .unprocessableContent, "too_many_inputs"),
                (#"{"input": "x", "lane": "fast"}"#, [.contentType: "application/json"], .unprocessableContent, "invalid_lane"),
                (#"{"input": "x", "deadline_ms": 0}"#, [.contentType: "application/json"], .unprocessableContent, "invalid_deadline_ms"),
                (#"{"input": "x", "thresholds": {"nsfw": 0.5}}"#, [.contentType: "application/json"], .unprocessableContent, "invalid_thresholds"),
                (#"{"input": "x"}"#, [.contentType: "text/plain"], .unsupportedMediaType, "unsupported_media_type"),
                (#"{"input": "\#(String(repeating: "a", count: 3000))"}"#, [.contentType: "application/json"], .contentTooLarge, "body_too_large"),
            ]
            for (body, headers, status, code) in cases {
                let (got, _, object) = try await Self.post(client, body, headers: headers)
                #expect(got == status, "\(body.prefix(40))")
                #expect(Self.code(object) == code, "\(body.prefix(40))")
            }
            // Invalid UTF-8: the offset of the first bad byte is named.
            let bytes: [UInt8] = Array(#"{"input": "ab"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
            try await client.execute(uri: "/v1/moderations", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("offset 13"))
            }
            try await client.execute(uri: "/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains(#""code":"not_found""#))
            }
        }
    }

    @Test("health answers at once; readiness and moderation answer 503 with Retry-After until the engine is warm")
    func readiness() async throws {
        let loading = Gate()
        try await Self.app(try Self.engine(loading: loading)).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
            }
            let (status, _, object) = try await Self.post(client, #"{"input": "early"}"#)
            #expect(status == .serviceUnavailable)
            #expect(Self.code(object) == "not_ready")
            loading.open()
            try await Self.waitUntilReady(client)
            #expect(try await Self.post(client, #"{"input": "now"}"#).0 == .ok)
        }
    }

    @Test("API keys guard /v1 (and /metrics when asked); health stays open")
    func authentication() async throws {
        let key = "router-test-key-0123456789"
        try await Self.app(try Self.engine(), configure: { $0.apiKeys = [key]; $0.protectMetrics = true }).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            let (status, headers, object) = try await Self.post(client, #"{"input": "x"}"#)
            #expect(status == .unauthorized)
            #expect(headers[.wwwAuthenticate] == "Bearer")
            #expect(Self.code(object) == "invalid_api_key")
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(key)"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""labels":["toxic","hate","spam"]"#))
            }
        }
    }

    @Test("OpenAI's request and response shapes: content parts are one input, categories answer under OpenAI's names")
    func openAIShapes() async throws {
        let engine = try Self.openAIEngine()
        try await Self.app(engine).test(.router) { client in
            try await Self.waitUntilReady(client)
            let (status, _, object) = try await Self.post(client, #"{"input": [{"type": "text", "text": "hello"}, {"type": "text", "text": "there friend"}], "model": "omni-moderation-latest"}"#)
            #expect(status == .ok)
            #expect(object["model"] as? String == "tiny-bert", "the served model answers whatever the request names")
            #expect((object["id"] as? String)?.hasPrefix("modr-") == true)
            let results = try #require(object["results"] as? [[String: Any]])
            #expect(results.count == 1, "an array of content parts is one input")
            let scores = try #require(results[0]["category_scores"] as? [String: Double])
            #expect(Set(scores.keys) == ["harassment", "hate", "spam"])
            let length = engine.tokenizer.encode("hello\nthere friend", maxLength: 128).ids.count
            #expect(abs((scores["harassment"] ?? -1) - Double(LengthBackend.score(length: length))) < 1e-6, "the text parts are scored together")
            let applied = try #require(results[0]["category_applied_input_types"] as? [String: [String]])
            #expect(applied == ["harassment": ["text"], "hate": ["text"], "spam": ["text"]])

            // Thresholds by OpenAI category or by label.
            for name in ["harassment", "toxic"] {
                let (_, _, flagged) = try await Self.post(client, #"{"input": "x", "thresholds": {"\#(name)": 0}}"#)
                let categories = ((flagged["results"] as? [[String: Any]])?.first?["categories"] as? [String: Bool]) ?? [:]
                #expect(categories["harassment"] == true && categories["spam"] == false, "\(name): \(categories)")
            }

            try await client.execute(uri: "/v1/models", method: .get) { response in
                let list = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let model = try #require((list["data"] as? [[String: Any]])?.first)
                #expect(model["categories"] as? [String: String] == ["toxic": "harassment", "hate": "hate", "spam": "spam"])
                let coverage = try #require(model["openai_categories"] as? [String: [String]])
                #expect(coverage["covered"] == ["harassment", "hate"])
                #expect(coverage["not_covered"]?.contains("violence") == true)
                #expect(coverage["not_covered"]?.contains("harassment") == false)
            }
        }
    }

    @Test("a former label name still sets its label's threshold; responses use the current name")
    func formerLabelName() async throws {
        try await Self.app(try Self.renamedLabelEngine()).test(.router) { client in
            try await Self.waitUntilReady(client)
            for (name, threshold) in [("toxic", 0.0), ("harassment", 0.0), ("toxic", 1.0)] {
                let (status, _, object) = try await Self.post(client, #"{"input": "x", "thresholds": {"\#(name)": \#(threshold)}}"#)
                #expect(status == .ok)
                let result = try #require((object["results"] as? [[String: Any]])?.first)
                let categories = try #require(result["categories"] as? [String: Bool])
                #expect(categories["harassment"] == (threshold == 0), "\(name)=\(threshold): \(categories)")
                #expect(categories["toxic"] == nil, "responses name the current label only")
            }
            let (status, _, refused) = try await Self.post(client, #"{"input": "x", "thresholds": {"rudeness": 0.5}}"#)
            #expect(status == .unprocessableContent)
            let error = try #require(refused["error"] as? [String: Any])
            #expect(error["code"] as? String == "invalid_thresholds" && error["param"] as? String == "thresholds")
            #expect((error["message"] as? String)?.contains("rudeness") == true)
        }
    }

    @Test("errors carry OpenAI's param naming the field at fault; an image part is refused naming its index")
    func errorParams() async throws {
        try await Self.app(try Self.engine(), configure: { $0.limits.maxInputs = 2 }).test(.router) { client in
            try await Self.waitUntilReady(client)
            let cases: [(String, String, String?)] = [
                (#"{"input": [{"type": "text", "text": "a caption"}, {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}"#, "unsupported_input_type", "input[1]"),
                (#"{"input": [{"type": "audio", "text": "x"}]}"#, "unsupported_input_type", "input[0]"),
                (#"{"input": ["a", "b", "c"]}"#, "too_many_inputs", "input"),
                (#"{"input": []}"#, "empty_input", "input"),
                (#"{"input": ["fine", "   "]}"#, "empty_text", "input[1]"),
                (#"{"input": "x", "lane": "fast"}"#, "invalid_lane", "lane"),
                (#"{"input": "x", "thresholds": {"toxic": 7}}"#, "invalid_thresholds", "thresholds"),
                (#"{"input": 42}"#, "invalid_json", "input"),
                (#"{"text": "no input"}"#, "invalid_json", "input"),
                (#"{"input": "#, "invalid_json", "input"),   // the body ends where input's value should be
                (#"{"input": "x"} ]"#, "invalid_json", nil),
            ]
            for (body, code, param) in cases {
                let (status, _, object) = try await Self.post(client, body)
                let error = try #require(object["error"] as? [String: Any], "\(body)")
                #expect(status.code >= 400 && status.code < 500)
                #expect(error["code"] as? String == code, "\(body)")
                #expect(error["param"] as? String == param, "\(body): \(error)")
                #expect(error.keys.contains("param"), "param is always present (null when no field is at fault)")
            }
        }
    }

    @Test("a key given twice in one object is refused: parsers disagree on which one counts")
    func duplicateKeys() async throws {
        try await Self.app(try Self.engine()).test(.router) { client in
            try await Self.waitUntilReady(client)
            for (body, path) in [(#"{"input": "hello", "input": "you worthless idiot"}"#, "input"),
                                 (#"{"input": "x", "thresholds": {"toxic": 0.1, "toxic": 0.9}}"#, "thresholds.toxic"),
                                 (#"{"input": "a", "\u0069nput": "b"}"#, "input")] {
                let (status, _, object) = try await Self.post(client, body)
                #expect(status == .badRequest, "\(body)")
                #expect(Self.code(object) == "duplicate_key", "\(body)")
                #expect((object["error"] as? [String: Any])?["param"] as? String == path, "\(body)")
            }
            // The same key in two different objects is fine.
            let (status, _, _) = try await Self.post(client, #"{"input": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}"#)
            #expect(status == .ok)
        }
    }

    @Test("HEAD works on the health and readiness probes")
    func headProbes() async throws {
        try await Self.app(try Self.engine()).test(.router) { client in
            try await Self.waitUntilReady(client)
            try await client.execute(uri: "/healthz", method: .head) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .head) { #expect($0.status == .ok) }
        }
    }

    @Test("a batch stuck on the model turns readiness 503, and it recovers when the batch ends")
    func stuckBatchWatchdog() async throws {
        let gate = Gate(open: true)
        let engine = try Self.engine(backend: LengthBackend(labelCount: 3, gate: gate))
        try await Self.app(engine, configure: { $0.stuckBatchThreshold = .milliseconds(300) }).test(.router) { client in
            try await Self.waitUntilReady(client)
            gate.close()
            let warm = gate.entered
            async let stuck = Self.post(client, #"{"input": "held on the model"}"#)
            await gate.waitUntilEntered(warm + 1)
            try await Task.sleep(for: .milliseconds(600))
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("looks stuck"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let line = String(buffer: response.body).split(separator: "\n").first { $0.hasPrefix("warden_longest_running_batch_seconds") }
                #expect((line?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 0.3, "\(line ?? "no gauge")")
            }
            gate.open()
            #expect(try await stuck.0 == .ok)
            try await Self.waitUntilReady(client)
        }
    }
}

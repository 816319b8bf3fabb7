import Foundation
import Logging
import Testing
import TorchBackend
import WardenCore
import WardenGateway
import WardenTestSupport

/// A shadow engine on the tiny fixture: its bundle (a copy, with `thresholds` when given) and, with `hold`,
/// a backend that waits at the gate before each batch. No warm-up, so a closed gate holds the first sample.
private func shadowEngine(_ bundle: ReloadableBundle, hold: Gate? = nil) throws -> ModerationEngine {
    var configuration = EngineConfiguration()
    configuration.workers = 1
    configuration.warmUpTexts = []
    configuration.moderator.cacheCapacity = 0
    configuration.metricsPrefix = "warden_shadow"
    return try ModerationEngine(
        modelDirectory: bundle.path, configuration: configuration,
        backends: BackendLoader { bundle, _ in
            let backend = try await TorchBackend.load(path: bundle.modelPath)
            if let hold { return [HeldBackend(inner: backend, hold: hold)] }
            return [backend]
        }, logger: Logger(label: "test.shadow"))
}

private let texts = (0..<12).map { "shadow sample \($0) you are " + ["kind", "rude", "great", "awful"][$0 % 4] }

/// The scores of each text, one request per text, from a server configured by `configure`.
private func scores(_ configure: @escaping (inout WardenSettings) -> Void) async throws -> [String] {
    let collected = Collected()
    try await withWarden(configure: configure) { base in
        for text in texts {
            let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "\#(text)"}"#)
            #expect(reply.status == 200)
            let result = (try reply.json()["results"] as! [[String: Any]])[0]
            let scores = result["category_scores"] as! [String: Double]
            collected.append(scores.keys.sorted().map { "\($0)=\(scores[$0]!)" }.joined(separator: ","))
        }
    }
    return collected.values
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    var values: [String] { lock.withLock { items } }
    func append(_ value: String) { lock.withLock { items.append(value) } }
}

@Suite("shadow model", .serialized, .timeLimit(.minutes(3)))
struct ShadowTests {
    @Test("a shadow on every request leaves every response as it was, and counts where it disagrees")
    func neverChangesResponses() async throws {
        let plain = try await scores { $0.engine.moderator.cacheCapacity = 0 }

        // The shadow is the same model with `toxic` flagging everything: it disagrees exactly where the
        // served model does not flag toxic.
        let bundle = try ReloadableBundle()
        try bundle.write(version: "0.9.0", thresholds: ["toxic": 0, "hate": 0.5, "spam": 0.5])
        let folder = try TempFolder()
        let log = try ShadowLog(path: folder.path("shadow.jsonl"), includesText: false)
        let scorer = try ShadowScorer(
            engine: try shadowEngine(bundle), comparingWith: try ModelBundle.load(directory: Paths.tinyBert), rate: 1, log: log)
        let collected = Collected()
        try await withWarden(configure: {
            $0.engine.moderator.cacheCapacity = 0
            $0.shadow = scorer
        }) { base in
            // The process's metrics registry outlives one server: compare counts against the start.
            let before = try await HTTP.get(base + "/metrics").text
            func delta(_ series: String, _ metrics: String) -> Int { (Self.value(of: series, in: metrics) ?? 0) - (Self.value(of: series, in: before) ?? 0) }
            var primaryToxicFlags = 0
            for text in texts {
                let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "\#(text)"}"#)
                #expect(reply.status == 200)
                let result = (try reply.json()["results"] as! [[String: Any]])[0]
                let scores = result["category_scores"] as! [String: Double]
                if (result["categories"] as! [String: Bool])["toxic"] == true { primaryToxicFlags += 1 }
                collected.append(scores.keys.sorted().map { "\($0)=\(scores[$0]!)" }.joined(separator: ","))
            }
            var metrics = ""
            try await waitUntil("every sample scored", timeout: .seconds(60), every: .milliseconds(20)) {
                metrics = try await HTTP.get(base + "/metrics").text
                return delta(#"warden_shadow_samples_total{outcome="scored"}"#, metrics) == texts.count
            }
            let disagreements = texts.count - primaryToxicFlags
            #expect(delta(#"warden_shadow_decisions_total{category="toxic",outcome="shadow_only"}"#, metrics) == disagreements, "\(metrics)")
            #expect(delta(#"warden_shadow_decisions_total{category="hate",outcome="agree"}"#, metrics) == texts.count)
            for category in ["toxic", "hate", "spam"] {
                #expect(delta(#"warden_shadow_decisions_total{category="\#(category)",outcome="primary_only"}"#, metrics) == 0)
            }
            #expect(metrics.contains(#"warden_shadow_model_info{model="tiny-bert",version="0.9.0"} 1"#))
            // The shadow's batches have their own series; the served model's count only its own.
            #expect(metrics.contains("warden_shadow_batch_size_count"))

            let lines = try String(contentsOfFile: folder.path("shadow.jsonl"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == disagreements)
            for line in lines {
                let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                #expect(record["categories"] as? [String] == ["toxic"])
                #expect((record["text_sha256"] as? String)?.count == 64)
                #expect(record["text"] == nil)
            }
        }
        #expect(collected.values == plain)
    }

    @Test("a saturated shadow drops samples and counts them; responses do not wait for it")
    func dropsWhenBehind() async throws {
        let bundle = try ReloadableBundle()
        let hold = Gate()
        let scorer = try ShadowScorer(
            engine: try shadowEngine(bundle, hold: hold), comparingWith: try ModelBundle.load(directory: Paths.tinyBert), rate: 1,
            capacity: 2, concurrency: 1)
        try await withWarden(configure: {
            $0.engine.moderator.cacheCapacity = 0
            $0.shadow = scorer
        }) { base in
            try await waitUntil("the shadow to be warm", timeout: .seconds(60)) { scorer.engine.moderator != nil }
            // The process's metrics registry outlives one server: compare counts against the start.
            let before = try await HTTP.get(base + "/metrics").text
            func delta(_ outcome: String, _ metrics: String) -> Int {
                let series = #"warden_shadow_samples_total{outcome="\#(outcome)"}"#
                return (Self.value(of: series, in: metrics) ?? 0) - (Self.value(of: series, in: before) ?? 0)
            }
            // The shadow model is held: every response must still come, and most samples must be dropped.
            for text in texts {
                let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "\#(text)"}"#)
                #expect(reply.status == 200)
            }
            #expect(hold.entered == 1)
            // At most one sample on the held model, one taken and waiting for a free slot and two queued: the
            // rest were dropped (more when the scorer had not yet taken one off the queue when the next came).
            let held = try await HTTP.get(base + "/metrics").text
            let dropped = delta("dropped", held)
            #expect((texts.count - 4)...(texts.count - 1) ~= dropped, "\(held)")
            #expect(delta("scored", held) == 0)
            hold.open()
            var settled = ""
            try await waitUntil("the held samples scored", timeout: .seconds(60), every: .milliseconds(20)) {
                settled = try await HTTP.get(base + "/metrics").text
                return delta("scored", settled) == texts.count - dropped
            }
            #expect(delta("dropped", settled) == dropped)
        }
    }

    @Test("a shadow with no category in common, or a rate out of range, is refused with a clear error")
    func refusesBadSetup() throws {
        let bundle = try ReloadableBundle()
        try bundle.write(version: "1", labels: ["a", "b", "c"])
        let primary = try ModelBundle.load(directory: Paths.tinyBert)
        #expect(throws: ShadowError.self) { try ShadowScorer(engine: try shadowEngine(bundle), comparingWith: primary, rate: 0.5) }
        let same = try ReloadableBundle()
        for rate in [0.0, 1.5, -1] {
            #expect(throws: ShadowError.self) { try ShadowScorer(engine: try shadowEngine(same), comparingWith: primary, rate: rate) }
        }
    }

    @Test("warden serve --shadow-model: the flags start a shadow, its metrics and its log (texts only when asked)")
    func serveFlags() async throws {
        let bundle = try ReloadableBundle()
        try bundle.write(version: "0.9.0", thresholds: ["toxic": 0, "hate": 0.5, "spam": 0.5])
        let folder = try TempFolder()
        // At nice 0: under the parallel suite a shadow at the default nice 19 gets almost no CPU (by design;
        // ThreadNiceTests checks the nice value).
        let server = try launchServe([
            "--model", Paths.tinyBert, "--shadow-model", bundle.path, "--shadow-rate", "1", "--shadow-nice", "0", "--shadow-log",
            folder.path("log.jsonl"), "--shadow-log-text", "--cache-size", "0",
        ])
        let base = try await server.waitUntilReady()
        // The server is ready with its served model; the shadow warms on its own (samples before are dropped).
        _ = try await waitForMetrics(base, containing: #"warden_shadow_model_info{model="tiny-bert",version="0.9.0"} 1"#)
        var unflagged: [String] = []
        for text in texts.prefix(4) {
            let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "\#(text)"}"#)
            #expect(reply.status == 200)
            let result = (try reply.json()["results"] as! [[String: Any]])[0]
            if (result["categories"] as! [String: Bool])["toxic"] == false { unflagged.append(text) }
        }
        _ = try await waitForMetrics(base, containing: #"warden_shadow_samples_total{outcome="scored"} 4"#)
        #expect(await server.stop() == 0)
        let lines = try String(contentsOfFile: folder.path("log.jsonl"), encoding: .utf8).split(separator: "\n")
        let logged = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(logged.compactMap { $0["text"] as? String }.sorted() == unflagged.sorted())
    }

    @Test("warden serve refuses --shadow-rate without --shadow-model, and a rate out of range")
    func serveFlagErrors() async throws {
        let lonely = try launchServe(["--model", Paths.tinyBert, "--shadow-rate", "0.5"])
        #expect(try await lonely.waitForExit() != 0)
        #expect(lonely.log.contains("--shadow-rate, --shadow-log and --shadow-nice need --shadow-model"))
        let outOfRange = try launchServe(["--model", Paths.tinyBert, "--shadow-model", Paths.tinyBert, "--shadow-rate", "2"])
        #expect(try await outOfRange.waitForExit() != 0)
        #expect(outOfRange.log.contains("the shadow rate must be above 0 and at most 1"))
    }

    static func value(of series: String, in metrics: String) -> Int? {
        metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Int(Double($0.split(separator: " ").last!) ?? -1) }
    }
}

/// Polls `/metrics` until it holds `text`; returns it.
func waitForMetrics(_ base: String, containing text: String) async throws -> String {
    var last = ""
    try await waitUntil("/metrics to show \(text)", timeout: .seconds(60), every: .milliseconds(20)) {
        last = try await HTTP.get(base + "/metrics").text
        return last.contains(text)
    }
    return last
}

import Foundation
import Synchronization
import Testing
import WardenCore
import WardenServer
import WardenTestSupport

/// A copy of the tiny fixture bundle in a folder of its own, whose manifest, model file and version a test
/// rewrites before asking for a reload.
struct ReloadableBundle {
    let folder: TempFolder
    var path: String { folder.url.path }

    init(version: String = "0.1.0") throws {
        folder = try TempFolder()
        try write(version: version)
        try useModel(Paths.tinyBert + "/model.pt")
    }

    /// Rewrites the manifest: the fixture's, with `version` (and `labels` or `thresholds` when given).
    func write(version: String, labels: [String]? = nil, thresholds: [String: Double]? = nil) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Paths.tinyBert + "/manifest.json"))
        var manifest = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        manifest["version"] = version
        var tokenizer = manifest["tokenizer"] as! [String: Any]
        tokenizer["path"] = TestPaths.path("tokenizer")
        manifest["tokenizer"] = tokenizer
        if let labels {
            manifest["labels"] = labels
            manifest["thresholds"] = Dictionary(uniqueKeysWithValues: labels.map { ($0, 0.5) })
        }
        if let thresholds { manifest["thresholds"] = thresholds }
        try folder.write("manifest.json", bytes: Array(try JSONSerialization.data(withJSONObject: manifest)))
    }

    /// Puts a copy of the model file at `source` in the bundle.
    func useModel(_ source: String) throws {
        try folder.write("model.pt", bytes: Array(try Data(contentsOf: URL(fileURLWithPath: source))))
    }
}

/// How far a load run has got, shared by its clients and the test.
private final class LoadProgress: Sendable {
    private let answeredCount = Atomic<Int>(0)
    private let stopFlag = Atomic<Bool>(false)
    var answered: Int { answeredCount.load(ordering: .relaxed) }
    var stopped: Bool { stopFlag.load(ordering: .relaxed) }
    func count() { answeredCount.add(1, ordering: .relaxed) }
    func stop() { stopFlag.store(true, ordering: .relaxed) }
}

private let adminKey = "reload-test-key-0123456789"
private let auth = [("Authorization", "Bearer \(adminKey)")]

private func servedVersion(_ base: String) async throws -> (version: String, loadedAt: String) {
    let models = try await HTTP.get(base + "/v1/models", headers: auth).json()
    let model = (models["data"] as! [[String: Any]])[0]
    return (model["version"] as! String, model["loaded_at"] as? String ?? "")
}

@Suite("model reload without a restart", .serialized, .timeLimit(.minutes(3)))
struct ReloadTests {
    private func withReloadableWarden(
        _ bundle: ReloadableBundle, loading: Gate? = nil, _ body: @escaping @Sendable (_ base: String) async throws -> Void
    ) async throws {
        try await withWarden(
            model: bundle.path, loading: loading,
            configure: {
                $0.server.apiKeys = [adminKey]
                $0.server.adminReload = true
                $0.engine.moderator.cacheCapacity = 0
            }, body)
    }

    @Test("a reload under HTTP load swaps the model with no failed request")
    func reloadUnderLoad() async throws {
        let bundle = try ReloadableBundle()
        try await withReloadableWarden(bundle) { base in
            let before = try await servedVersion(base)
            #expect(before.version == "0.1.0")
            try bundle.write(version: "0.2.0")
            try bundle.useModel(TestPaths.path("Tests/Fixtures/tiny-bert-packed/model.pt"))

            // Four clients send requests back to back until the reload has answered and 40 more requests are
            // done; bounded in count (2,000 each) and time (the suite's limit).
            let progress = LoadProgress()
            let load = Task {
                try await withThrowingTaskGroup(of: [Int].self) { group in
                    for client in 0..<4 {
                        group.addTask {
                            var statuses: [Int] = []
                            for index in 0..<2000 where !progress.stopped {
                                let reply = try await HTTP.post(
                                    base + "/v1/moderations", json: #"{"input": "client \#(client) message \#(index)"}"#, headers: auth)
                                statuses.append(reply.status)
                                progress.count()
                            }
                            return statuses
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            try await waitUntil("40 requests answered before the reload", timeout: .seconds(60)) { progress.answered >= 40 }
            let reload = try await HTTP.post(base + "/admin/reload", json: "{}", headers: auth)
            let atReload = progress.answered
            try await waitUntil("40 requests answered after the reload", timeout: .seconds(60)) {
                progress.answered >= atReload + 40
            }
            progress.stop()
            let statuses = try await load.value

            #expect(reload.status == 200, "\(reload.text)")
            let report = try reload.json()
            #expect(report["version"] as? String == "0.2.0")
            #expect(report["previous_version"] as? String == "0.1.0")
            #expect(statuses.count >= 80)
            #expect(statuses.allSatisfy { $0 == 200 }, "statuses other than 200: \(statuses.filter { $0 != 200 })")
            let after = try await servedVersion(base)
            #expect(after.version == "0.2.0")
            #expect(after.loadedAt != before.loadedAt)
            let metrics = try await HTTP.get(base + "/metrics").text
            #expect(metrics.contains(#"warden_model_info{model="tiny-bert",version="0.2.0"} 1"#))
            #expect(metrics.contains(#"warden_model_reloads_total{outcome="ok"}"#))
        }
    }

    @Test("a model that fails to load leaves the old one serving, and the answer says why")
    func failedReloadKeepsModel() async throws {
        let bundle = try ReloadableBundle()
        try await withReloadableWarden(bundle) { base in
            try bundle.write(version: "0.3.0")
            try bundle.useModel(TestPaths.path("Tests/Fixtures/bad-models/not_torchscript.pt"))
            let reload = try await HTTP.post(base + "/admin/reload", json: "{}", headers: auth)
            #expect(reload.status == 500)
            #expect(reload.errorCode == "reload_failed")
            #expect(reload.text.contains("keeps serving"))
            #expect(try await servedVersion(base).version == "0.1.0")
            let scored = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "still here"}"#, headers: auth)
            #expect(scored.status == 200)
            #expect(try await HTTP.get(base + "/metrics").text.contains(#"warden_model_reloads_total{outcome="failed"}"#))
        }
    }

    @Test("a model with other labels is refused: the label set changes only with a restart")
    func otherLabelsRefused() async throws {
        let bundle = try ReloadableBundle()
        try await withReloadableWarden(bundle) { base in
            try bundle.write(version: "0.4.0", labels: ["insult", "hate", "spam"])
            let reload = try await HTTP.post(base + "/admin/reload", json: "{}", headers: auth)
            #expect(reload.status == 500)
            #expect(reload.text.contains("differ from the served model"), "\(reload.text)")
            #expect(try await servedVersion(base).version == "0.1.0")
        }
    }

    @Test("the reload endpoint is off by default and behind the API keys when on")
    func endpointGuarded() async throws {
        try await withWarden { base in
            let reply = try await HTTP.post(base + "/admin/reload", json: "{}")
            #expect(reply.status == 404)
        }
        let bundle = try ReloadableBundle()
        try await withReloadableWarden(bundle) { base in
            let refused = try await HTTP.post(base + "/admin/reload", json: "{}")
            #expect(refused.status == 401)
            #expect(try await servedVersion(base).version == "0.1.0")
        }
    }

    @Test("a reload asked for while another loads is refused with 409; the first completes")
    func concurrentReloadRefused() async throws {
        let bundle = try ReloadableBundle()
        let loading = Gate(open: true)
        try await withReloadableWarden(bundle, loading: loading) { base in
            try bundle.write(version: "0.5.0")
            loading.close()
            let first = Task { try await HTTP.post(base + "/admin/reload", json: "{}", headers: auth) }
            // The first load passed the gate at start-up; the reload's load is the second.
            await loading.waitUntilEntered(2)
            let second = try await HTTP.post(base + "/admin/reload", json: "{}", headers: auth)
            #expect(second.status == 409)
            #expect(second.errorCode == "reload_in_progress")
            loading.open()
            #expect(try await first.value.status == 200)
            #expect(try await servedVersion(base).version == "0.5.0")
        }
    }
}

@Suite("warden serve reloads its model on SIGHUP", .serialized, .timeLimit(.minutes(3)))
struct HangupReloadTests {
    @Test("SIGHUP swaps in the rewritten bundle; after a bad one the old model keeps serving")
    func sighupReloads() async throws {
        let bundle = try ReloadableBundle()
        let server = try launchServe(["--model", bundle.path])
        let base = try await server.waitUntilReady()
        do {
            try bundle.write(version: "0.2.0")
            server.send(SIGHUP)
            try await waitUntil("the served version to be 0.2.0", timeout: .seconds(60), every: .milliseconds(50)) {
                (try? await servedVersion(base).version) == "0.2.0"
            }
            try bundle.write(version: "0.3.0")
            try bundle.useModel(TestPaths.path("Tests/Fixtures/bad-models/wrong_output.pt"))
            server.send(SIGHUP)
            try await waitUntil("the failed reload to be logged", timeout: .seconds(60), every: .milliseconds(50)) {
                server.log.contains("model reload failed")
            }
            #expect(try await servedVersion(base).version == "0.2.0")
            let scored = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "still serving"}"#)
            #expect(scored.status == 200)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }
}

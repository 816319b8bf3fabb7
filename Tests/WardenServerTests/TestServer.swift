import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing
import TorchBackend
import WardenCore
import WardenGateway
import WardenServer
import WardenTestSupport

/// Paths of the committed fixtures and bundles.
enum Paths {
    static let repository = TestPaths.root
    static let tinyBert = TestPaths.tinyBert.path
    static let defaultModel = TestPaths.defaultModel.path
}

/// A real backend that waits at a ``Gate`` before each batch, so a test can hold the model busy and provoke
/// queueing, deadlines and overload without racing the clock.
struct HeldBackend: InferenceBackend {
    let inner: any InferenceBackend
    let hold: Gate
    var labelCount: Int { inner.labelCount }
    var runtimeInfo: RuntimeInfo { inner.runtimeInfo }
    func score(_ batch: TokenBatch) async throws -> [Float] {
        await hold.pass()
        return try await inner.score(batch)
    }
}

/// A real backend that reports another precision than its bundle states, as a backend loaded by a precision
/// plan does (a bf16 bundle computed in fp32, say).
struct ReportingBackend: InferenceBackend {
    let inner: TorchBackend
    let precision: String
    var labelCount: Int { inner.labelCount }
    var runtimeInfo: RuntimeInfo { RuntimeInfo(precision: precision, blasCore: inner.runtimeInfo.blasCore) }
    func score(_ batch: TokenBatch) async throws -> [Float] { try await inner.score(batch) }
}

/// The server's and the engine's configuration of one test server.
struct WardenSettings {
    var server = ServerConfiguration()
    var engine = EngineConfiguration()
    /// Where the engine is put once built, for a test that waits on its state (its queue) rather than on the clock.
    var built: EngineSlot?
    /// A shadow model scoring a sample of the requests.
    var shadow: ShadowScorer?
}

extension WardenSettings {
    /// One text per batch and no result cache, so each text reaches a held model on its own.
    /// With `slot`, the engine is put there once built.
    mutating func oneTextPerBatch(engineIn slot: EngineSlot? = nil) {
        engine.batching.maxBatchSize = 1
        engine.moderator.cacheCapacity = 0
        built = slot ?? built
    }
}

/// The engine of a test server, once built.
final class EngineSlot: Sendable {
    private let slot = Mutex<ModerationEngine?>(nil)
    var engine: ModerationEngine? { slot.withLock { $0 } }
    func put(_ engine: ModerationEngine) { slot.withLock { $0 = engine } }
}

/// Starts the real Warden application on a free loopback port, runs `body` with its base URL, then shuts
/// it down gracefully (as SIGTERM would).
func withWarden(
    model: String = Paths.tinyBert,
    reportedPrecision: String? = nil,
    hold: Gate? = nil,
    loading: Gate? = nil,
    waitUntilReady: Bool = true,
    configure: (inout WardenSettings) -> Void = { _ in },
    _ body: @escaping @Sendable (_ baseURL: String) async throws -> Void
) async throws {
    var settings = WardenSettings()
    settings.server.port = 0
    settings.server.logLevel = .warning
    settings.engine.workers = 1
    // The suites run in parallel on a small machine: only the deadline tests should meet deadlines.
    settings.engine.batching.interactive.defaultDeadline = .seconds(60)
    settings.engine.batching.interactive.maxDeadline = .seconds(60)
    configure(&settings)
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    let engine = try ModerationEngine(
        modelDirectory: model, configuration: settings.engine,
        backends: BackendLoader { bundle, _ in
            if let loading { await loading.pass() }
            let backend = try await TorchBackend.load(path: bundle.modelPath)
            if let reportedPrecision { return [ReportingBackend(inner: backend, precision: reportedPrecision)] }
            if let hold { return [HeldBackend(inner: backend, hold: hold)] }
            return [backend]
        }, logger: Logger(label: "test"))
    settings.built?.put(engine)
    let app = buildApplication(
        configuration: settings.server, engine: engine, shadow: settings.shadow,
        events: ServerEvents(listening: { port in portContinuation.yield(port) }))
    let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
    // The server and the test body race: if the server stops on its own (a service failed), the test
    // fails at once instead of waiting for an answer that never comes.
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await serviceGroup.run()
            return false
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server never listened") }
        let base = "http://127.0.0.1:\(port)"
        group.addTask {
            if waitUntilReady { try await waitForReady(base) }
            try await body(base)
            return true
        }
        defer { portContinuation.finish() }
        do {
            let bodyFinished = try await group.next() ?? false
            guard bodyFinished else { throw TestFailure("the server stopped before the test finished") }
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            group.cancelAll()
            throw error
        }
        await serviceGroup.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `/readyz` until it answers 200 (bounded, so a broken server fails instead of hanging).
func waitForReady(_ base: String) async throws {
    try await waitUntil("\(base)/readyz to answer 200", timeout: .seconds(120), every: .milliseconds(100)) {
        (try? await HTTP.get(base + "/readyz"))?.status == 200
    }
}

/// A small HTTP helper over AsyncHTTPClient returning status, headers and body bytes.
enum HTTP {
    struct Reply: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: Data
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw TestFailure("not a JSON object: \(text)") }
            return object
        }
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The `error.code` of a JSON error body, or nil.
        var errorCode: String? { ((try? json())?["error"] as? [String: Any])?["code"] as? String }
    }

    static func get(_ url: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(url, method: .GET, headers: headers, body: nil)
    }

    static func post(_ url: String, json: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(url, method: .POST, headers: [("Content-Type", "application/json")] + headers, body: Data(json.utf8))
    }

    static func post(_ url: String, bytes: Data, contentType: String? = "application/json", headers: [(String, String)] = []) async throws -> Reply {
        try await send(url, method: .POST, headers: (contentType.map { [("Content-Type", $0)] } ?? []) + headers, body: bytes)
    }

    static func send(_ url: String, method: HTTPMethod, headers: [(String, String)], body: Data?) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Data(bytes.readableBytesView))
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import WardenAPI

/// A small real HTTP server that imitates Warden's `POST /v1/moderations` shape, for the client and chat-server
/// tests: quick checks of their own logic (`/v1/moderations` scores like a toy model), and states a real Warden
/// cannot be put into on demand (`/{scenario}/{key}/v1/moderations`: a 429 followed by a 200, a 503 followed by a
/// 200, an answer slower than any sane client timeout, a 504). The suites that use it run the same behaviours
/// against the real service where it can show them.
///
/// Scenarios (the `key` separates the call counters of different tests):
/// - `ok` (and plain `/v1/moderations`): a toy model: `toxic` when the text contains "idiot", `spam` when it
///   contains "buy now"; the request's per-label thresholds apply (default 0.5). A text containing "endless" is
///   reported scored in part (`truncated: true`, 16 windows), as Warden reports a text longer than it covers.
/// - `429-then-ok`: the first call answers 429 with `Retry-After: 1` and Warden's JSON error, later calls `ok`.
/// - `503-then-ok`: the first call answers 503 with `Retry-After: 1`, later calls `ok`.
/// - `always-429`: 429 with `Retry-After: <value>` where value is the `retry` query parameter as sent (default 1),
///   so a test can send what a broken proxy might: `1e300`, `inf`, `-5`, a huge integer, an HTTP-date.
/// - `slow`: sleeps 3 s, then `ok`.
/// - `deadline`: 504 with Warden's `deadline_exceeded` error.
/// - `bad-request`: 422 `too_many_inputs`.
/// - `unauthorized`: 401 unless `Authorization: Bearer secret`, then `ok`.
/// - `garbage`: 200 with a body that is not a moderation response.
public enum StubWarden {
    /// Calls per test key.
    public actor Calls {
        private var counts: [String: Int] = [:]
        public init() {}

        func next(_ key: String) -> Int {
            counts[key, default: 0] += 1
            return counts[key]!
        }
        /// Calls made with `key` so far.
        public func count(_ key: String) -> Int { counts[key] ?? 0 }
    }

    /// The toy model's verdict on `text`.
    public static func score(_ text: String, thresholds: [String: Float] = [:]) -> ModerationResult {
        let lower = text.lowercased()
        let toxic: Float = lower.contains("idiot") ? 0.97 : 0.02
        let spam: Float = lower.contains("buy now") ? 0.91 : 0.01
        let scores = ["toxic": toxic, "hate": 0.01, "spam": spam]
        let flags = Dictionary(uniqueKeysWithValues: scores.map { ($0.key, $0.value >= (thresholds[$0.key] ?? 0.5)) })
        let partly = lower.contains("endless")
        return ModerationResult(
            flagged: flags.values.contains(true), categories: flags, categoryScores: scores,
            truncated: partly, windows: partly ? 16 : 1)
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(value))))
    }

    static func error(_ status: HTTPResponse.Status, code: String, type: String, message: String, retryAfter: String? = nil) throws -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter { headers[.retryAfter] = retryAfter }
        return try json(status, ErrorResponse(message: message, type: type, code: code), headers: headers)
    }

    /// The stub application on a free loopback port.
    public static func buildApplication(calls: Calls = Calls()) -> some ApplicationProtocol {
        let router = Router()
        router.post("/v1/moderations") { request, context -> Response in
            let body = try await request.decode(as: ModerationRequest.self, context: context)
            let thresholds = body.thresholds ?? [:]
            return try json(.ok, ModerationResponse(id: "modr-stub", model: "stub", results: body.input.texts.map { score($0, thresholds: thresholds) }))
        }
        router.post("/{scenario}/{key}/v1/moderations") { request, context -> Response in
            let scenario = try context.parameters.require("scenario")
            let key = try context.parameters.require("key")
            let call = await calls.next(key)
            let body = try await request.decode(as: ModerationRequest.self, context: context)
            let ok = { () throws -> Response in
                try json(.ok, ModerationResponse(id: "modr-stub-\(call)", model: "stub", results: body.input.texts.map { score($0) }))
            }
            switch scenario {
            case "ok": return try ok()
            case "429-then-ok":
                if call == 1 { return try error(.tooManyRequests, code: "overloaded", type: "rate_limit_error", message: "queue full", retryAfter: "1") }
                return try ok()
            case "503-then-ok":
                if call == 1 { return try error(.serviceUnavailable, code: "not_ready", type: "server_error", message: "warming up", retryAfter: "1") }
                return try ok()
            case "always-429":
                let value = request.uri.queryParameters.get("retry") ?? "1"
                return try error(.tooManyRequests, code: "overloaded", type: "rate_limit_error", message: "queue full", retryAfter: value)
            case "slow":
                try await Task.sleep(for: .seconds(3))
                return try ok()
            case "deadline":
                return try error(
                    .gatewayTimeout, code: "deadline_exceeded", type: "server_error", message: "deadline of \(body.deadlineMs ?? 0) ms passed before scoring")
            case "bad-request":
                return try error(.unprocessableContent, code: "too_many_inputs", type: "invalid_request_error", message: "at most 256 inputs per request")
            case "unauthorized":
                guard request.headers[.authorization] == "Bearer secret" else {
                    return try error(.unauthorized, code: "invalid_api_key", type: "authentication_error", message: "missing or wrong API key")
                }
                return try ok()
            case "garbage":
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"hello": 1}"#)))
            default:
                return Response(status: .notFound)
            }
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Runs the stub on a loopback port for the duration of `body`, passing its base URL (`http://localhost:PORT`).
    public static func with<Value: Sendable>(_ body: @Sendable (_ baseURL: String, _ calls: Calls) async throws -> Value) async throws -> Value {
        let calls = Calls()
        return try await buildApplication(calls: calls).test(.live) { client in
            try await body("http://localhost:\(client.port!)", calls)
        }
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import WardenAPI

/// The client a chat server uses to score messages with Warden.
///
/// ```swift
/// let warden = WardenClient(configuration: .init(baseURL: "http://127.0.0.1:8080", failurePolicy: .failOpen))
/// switch await warden.screen(message) {
/// case .allow: broadcast(message)
/// case .block(let result): tell(sender, "not delivered: \(result.flaggedLabels)")
/// case .unscored(_, let policy): policy == .failOpen ? broadcast(message) : tell(sender, "try again later")
/// }
/// ```
///
/// Speaks the OpenAI moderation wire format, so the same client works against OpenAI's endpoint
/// (`baseURL: "https://api.openai.com", moderationPath: "/v1/moderations"`, the API key, and `model`);
/// Warden's extras (lane, deadline, thresholds) are optional fields that endpoint does not need.
///
/// - Important: Cheap to copy; share one per process. It uses `httpClient` (default ``sharedHTTPClient``) and never
///   shuts it down.
public struct WardenClient: Sendable {
    /// The configuration this client was made with.
    public let configuration: Configuration
    private let httpClient: HTTPClient
    let endpoint: String

    /// - Parameters:
    ///   - configuration: Base URL, key, timeout, retry and failure policies.
    ///   - httpClient: The AsyncHTTPClient to send requests with; its lifetime is the caller's. Make your own
    ///     from ``httpClientConfiguration`` (see ``sharedHTTPClient`` for why).
    public init(configuration: Configuration, httpClient: HTTPClient = WardenClient.sharedHTTPClient) {
        self.configuration = configuration
        self.httpClient = httpClient
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let path = configuration.moderationPath.hasPrefix("/") ? configuration.moderationPath : "/" + configuration.moderationPath
        self.endpoint = base + path
    }

    /// The process-wide AsyncHTTPClient that clients use unless given one; like `HTTPClient.shared`, it is never
    /// shut down. It differs in one setting: a connection that cannot be made (refused, unreachable) fails the
    /// attempt at once instead of being retried inside AsyncHTTPClient until the request's timeout. The client's
    /// own ``Configuration/retry`` then retries with back-off, so a Warden that is down is reported (and the
    /// failure policy applied) in milliseconds, not after ``Configuration/timeout``.
    public static let sharedHTTPClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpClientConfiguration)

    /// The AsyncHTTPClient settings of ``sharedHTTPClient``: the defaults, with
    /// `connectionPool.retryConnectionEstablishment` off.
    public static var httpClientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// Scores one text.
    /// - Throws: ``WardenClientError`` once retries (see ``RetryPolicy``) are exhausted or the failure is not retryable.
    public func moderate(_ text: String, options: ModerationOptions = .init()) async throws(WardenClientError) -> ModerationResult {
        let results = try await send(.single(text), count: 1, options: options)
        return results[0]
    }

    /// Scores several texts; results are in input order. Lists longer than
    /// ``Configuration/maxInputsPerRequest`` are sent as several requests, one after another.
    /// An empty list returns an empty list without calling Warden.
    /// - Throws: ``WardenClientError`` for the first request that fails.
    public func moderate(_ texts: [String], options: ModerationOptions = .init()) async throws(WardenClientError) -> [ModerationResult] {
        if texts.isEmpty { return [] }
        let chunkSize = max(1, configuration.maxInputsPerRequest)
        var results: [ModerationResult] = []
        results.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let end = min(start + chunkSize, texts.count)
            let chunk = Array(texts[start..<end])
            results += try await send(.batch(chunk), count: chunk.count, options: options)
            start = end
        }
        return results
    }

    // MARK: - One request, with retries

    private func send(_ input: ModerationInput, count: Int, options: ModerationOptions) async throws(WardenClientError) -> [ModerationResult] {
        let body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try JSONEncoder().encode(makeRequest(input, options: options)))
        } catch {
            throw .invalidResponse("the request could not be encoded (\(error))")
        }
        var attempt = 1
        while true {
            let exchange = await perform(body: body)
            switch step(after: exchange, expecting: count, attempt: attempt) {
            case .done(let results):
                return results
            case .fail(let error):
                throw error
            case .retry(let delay, let error):
                configuration.logger.debug(
                    "Warden call failed; retrying",
                    metadata: [
                        "error": "\(error.code)", "attempt": "\(attempt)", "delay": "\(delay)",
                    ])
                configuration.onEvent?(.retrying(nextAttempt: attempt + 1, delay: delay, after: error))
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw .cancelled()
                }
                attempt += 1
            }
        }
    }

    private func makeRequest(_ input: ModerationInput, options: ModerationOptions) -> ModerationRequest {
        return ModerationRequest(
            input: input, model: options.model, thresholds: options.thresholds,
            lane: options.lane, deadlineMs: options.deadline.map(Self.deadlineMilliseconds), policy: options.policy,
            explain: options.explain)
    }

    /// `deadline_ms` for `deadline`: whole milliseconds rounded up, at least 1, at most 10^15 (Warden refuses what it
    /// cannot use; the client must not trap on it).
    static func deadlineMilliseconds(_ deadline: Duration) -> Int {
        let (seconds, attoseconds) = deadline.components
        guard seconds < 1_000_000_000_000 else { return 1_000_000_000_000_000 }
        return Int(max(1, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }

    /// The NIO deadline `timeout` from now; a timeout of a year or more never expires, one of zero or less already has.
    static func deadline(after timeout: Duration) -> NIODeadline {
        guard timeout > .zero else { return .now() }
        guard timeout < .seconds(365 * 86_400) else { return .distantFuture }
        return .now() + .nanoseconds(Int64(timeout / .nanoseconds(1)))
    }

    /// One HTTP exchange: Warden's answer as it came, or why there was none.
    private func perform(body: ByteBuffer) async -> Exchange {
        if Task.isCancelled { return .failed(.cancelled) }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "WardenClient/1")
        if let apiKey = configuration.apiKey {
            request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        }
        request.body = .bytes(body)

        let deadline = Self.deadline(after: configuration.timeout)
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await httpClient.execute(request, deadline: deadline, logger: configuration.logger)
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            return .failed(classify(error, deadline: deadline))
        }

        return .answer(
            status: Int(response.status.code), retryAfter: response.headers.first(name: WardenHeader.retryAfter),
            body: Data(bytes.readableBytesView))
    }

    private func classify(_ error: any Error, deadline: NIODeadline) -> AttemptFailure {
        if Task.isCancelled || error is CancellationError { return .cancelled }
        if let httpError = error as? HTTPClientError {
            if httpError == .deadlineExceeded || httpError == .readTimeout || httpError == .writeTimeout {
                return .timeout
            }
            if httpError == .cancelled {
                return NIODeadline.now() >= deadline ? .timeout : .cancelled
            }
            if httpError == .connectTimeout || httpError == .getConnectionFromPoolTimeout {
                return .connection("no connection within the timeout")
            }
        }
        // Connection errors (refused, reset, DNS): AsyncHTTPClient reports the last connect failure.
        return .connection(String(describing: error))
    }
}

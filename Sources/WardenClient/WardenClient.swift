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
/// - Important: Cheap to copy; share one per process. It uses `httpClient` (default `HTTPClient.shared`) and never
///   shuts it down.
public struct WardenClient: Sendable {
    /// The configuration this client was made with.
    public let configuration: Configuration
    private let httpClient: HTTPClient
    private let endpoint: String

    /// - Parameters:
    ///   - configuration: Base URL, key, timeout, retry and failure policies.
    ///   - httpClient: The AsyncHTTPClient to send requests with; its lifetime is the caller's.
    public init(configuration: Configuration, httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let path = configuration.moderationPath.hasPrefix("/") ? configuration.moderationPath : "/" + configuration.moderationPath
        self.endpoint = base + path
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
            let outcome = await perform(body: body)
            switch outcome {
            case .success(let response):
                guard response.results.count == count else {
                    throw .invalidResponse("expected \(count) results, got \(response.results.count)")
                }
                return response.results
            case .failure(let failure):
                let error = makeError(failure, attempts: attempt)
                guard failure.isRetryable, attempt < configuration.retry.maxAttempts,
                      let delay = configuration.retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter)
                else { throw error }
                configuration.logger.debug("Warden call failed; retrying", metadata: [
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
        var deadlineMs: Int?
        if let deadline = options.deadline {
            let (seconds, attoseconds) = deadline.components
            let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            deadlineMs = Int(max(1, ms))
        }
        return ModerationRequest(input: input, model: options.model, thresholds: options.thresholds,
                                 lane: options.lane?.rawValue, deadlineMs: deadlineMs)
    }

    /// The result of one HTTP exchange.
    private enum Outcome {
        case success(ModerationResponse)
        case failure(AttemptFailure)
    }

    private enum AttemptFailure {
        case status(Int, ErrorResponse?, retryAfter: Duration?)
        case connection(String)
        case timeout
        case cancelled
        case invalid(String, status: Int?)

        var isRetryable: Bool {
            switch self {
            case .status(let status, _, _): status == 429 || status == 503
            case .connection: true
            case .timeout, .cancelled, .invalid: false
            }
        }

        var retryAfter: Duration? {
            if case .status(_, _, let retryAfter) = self { return retryAfter }
            return nil
        }
    }

    private func perform(body: ByteBuffer) async -> Outcome {
        if Task.isCancelled { return .failure(.cancelled) }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "WardenClient/1")
        if let apiKey = configuration.apiKey {
            request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        }
        request.body = .bytes(body)

        let timeout = configuration.timeout
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout / .nanoseconds(1)))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await httpClient.execute(request, deadline: deadline, logger: configuration.logger)
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            return .failure(classify(error, deadline: deadline))
        }

        let status = Int(response.status.code)
        if status == 200 {
            do {
                return .success(try JSONDecoder().decode(ModerationResponse.self, from: Data(bytes.readableBytesView)))
            } catch {
                return .failure(.invalid("the 200 body is not a moderation response (\(error))", status: status))
            }
        }
        let errorBody = try? JSONDecoder().decode(ErrorResponse.self, from: Data(bytes.readableBytesView))
        let retryAfter = response.headers.first(name: WardenHeader.retryAfter).flatMap(Self.parseRetryAfter)
        return .failure(.status(status, errorBody, retryAfter: retryAfter))
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

    private func makeError(_ failure: AttemptFailure, attempts: Int) -> WardenClientError {
        switch failure {
        case .status(let status, let body, let retryAfter):
            .fromStatus(status, body: body, retryAfter: retryAfter, attempts: attempts)
        case .connection(let detail):
            .unreachable(endpoint, underlying: detail)
        case .timeout:
            .timeout(configuration.timeout, url: endpoint)
        case .cancelled:
            .cancelled()
        case .invalid(let detail, let status):
            .invalidResponse(detail, status: status)
        }
    }

    /// `Retry-After` in delta-seconds form (Warden's). HTTP-date forms are ignored (backoff applies).
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return .milliseconds(Int64(seconds * 1000)) }
        return nil
    }
}


import Foundation
import WardenAPI

extension WardenClient {
    /// One attempt's outcome, as it came: Warden's answer (status, raw `Retry-After`, body), or why there was none.
    enum Exchange: Sendable {
        case answer(status: Int, retryAfter: String?, body: Data)
        case failed(AttemptFailure)
    }

    /// Why an attempt produced no results.
    enum AttemptFailure: Sendable {
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

    /// What the client does after one attempt.
    enum Step: Sendable {
        /// The results, one per text.
        case done([ModerationResult])
        /// Wait `after`, then try again; `error` is why this attempt failed.
        case retry(after: Duration, error: WardenClientError)
        /// Give up with `error`.
        case fail(WardenClientError)
    }

    /// The one place where Warden's answers are read: what to do after attempt `attempt` (counting from 1) of a
    /// request for `count` results. Whatever the status, headers and body (a proxy or a broken server may send
    /// anything), it returns a step and never traps; only the backoff's jitter is random.
    func step(after exchange: Exchange, expecting count: Int, attempt: Int) -> Step {
        let failure: AttemptFailure
        switch exchange {
        case .answer(let status, let retryAfter, let body):
            if status == 200 {
                do {
                    let response = try JSONDecoder().decode(ModerationResponse.self, from: body)
                    guard response.results.count == count else {
                        return .fail(.invalidResponse("expected \(count) results, got \(response.results.count)", status: status))
                    }
                    return .done(response.results)
                } catch {
                    return .fail(.invalidResponse("the 200 body is not a moderation response (\(error))", status: status))
                }
            }
            let errorBody = try? JSONDecoder().decode(ErrorResponse.self, from: body)
            failure = .status(status, errorBody, retryAfter: retryAfter.flatMap(Self.parseRetryAfter))
        case .failed(let attemptFailure):
            failure = attemptFailure
        }
        let error = makeError(failure, attempts: attempt)
        guard failure.isRetryable, attempt < configuration.retry.maxAttempts,
            let delay = configuration.retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter)
        else { return .fail(error) }
        return .retry(after: delay, error: error)
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

    /// The longest `Retry-After` the client reads: a larger hint (a day or more, or an absurd number such as `1e300`
    /// from a broken proxy) is read as this. A hint longer than ``RetryPolicy/maxDelay`` ends the retries at once, so
    /// the client never waits longer than `maxDelay` whatever the header says.
    public static let longestRetryAfter: Duration = .seconds(86_400)

    /// `Retry-After` as a number of seconds (Warden sends whole seconds; a fraction or an exponent is accepted),
    /// at most ``longestRetryAfter``. Anything else (an HTTP-date, a negative number, `inf`, `nan`, hex, text) is
    /// ignored: nil, and the backoff applies.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        let numeric = trimmed.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || Self.numberPunctuation.contains($0) }
        guard numeric, let seconds = Double(trimmed), seconds.isFinite, seconds >= 0 else { return nil }
        if seconds >= longestRetryAfter / .seconds(1) { return longestRetryAfter }
        return .nanoseconds(Int64((seconds * 1e9).rounded(.up)))
    }

    private static let numberPunctuation: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")]
}

import Logging
import WardenAPI

extension WardenClient {
    /// Where Warden is, how to authenticate, how long to wait, when to retry, and what to do when it cannot answer.
    public struct Configuration: Sendable {
        /// Scheme, host and port of the service, e.g. `http://127.0.0.1:8080` (a trailing `/` is ignored).
        public var baseURL: String
        /// Path of the moderation endpoint: `/v1/moderations`, OpenAI's path, which Warden serves (its older
        /// `/v1/moderate` is an alias).
        public var moderationPath: String
        /// Sent as `Authorization: Bearer <apiKey>` when set.
        public var apiKey: String?
        /// Client-side limit for one attempt (connect, send, answer). Exceeding it gives ``WardenClientError/Code/timeout``,
        /// which is distinct from Warden's own deadline answer (504, ``WardenClientError/Code/deadlineExceeded``).
        public var timeout: Duration
        /// When and how often to retry.
        public var retry: RetryPolicy
        /// What ``WardenClient/screen(_:options:)`` decides when Warden cannot score a text.
        public var failurePolicy: FailurePolicy
        /// What ``WardenClient/screen(_:options:)`` decides when Warden scored only part of a text and flagged
        /// nothing (``ModerationResult/isPartlyScored``).
        public var partlyScored: PartlyScoredPolicy
        /// Largest number of texts sent in one request; longer lists are split (Warden's default limit is 256).
        public var maxInputsPerRequest: Int
        /// Called for every retry, every text left unscored and every text scored in part, so a chat server can
        /// count or alert on them.
        public var onEvent: (@Sendable (WardenClientEvent) -> Void)?
        /// Where the client logs retries (debug) and unscored texts (warning).
        public var logger: Logger

        /// - Parameters:
        ///   - baseURL: Scheme, host and port of Warden, e.g. `http://127.0.0.1:8080`.
        ///   - apiKey: Bearer token, when Warden was started with API keys.
        ///   - timeout: Client-side limit per attempt (default 2 s: a chat message should not wait longer).
        ///   - retry: Retry policy (default ``RetryPolicy/default``).
        ///   - failurePolicy: `.failOpen` (default) delivers unscored texts and reports them; `.failClosed` refuses them.
        ///   - partlyScored: `.allow` (default) allows a text scored in part with nothing flagged and reports it;
        ///     `.unscored` treats it as not scored, so `failurePolicy` decides.
        public init(
            baseURL: String,
            apiKey: String? = nil,
            timeout: Duration = .seconds(2),
            retry: RetryPolicy = .default,
            failurePolicy: FailurePolicy = .failOpen,
            partlyScored: PartlyScoredPolicy = .allow,
            moderationPath: String = "/v1/moderations",
            maxInputsPerRequest: Int = 256,
            logger: Logger = Logger(label: "warden.client"),
            onEvent: (@Sendable (WardenClientEvent) -> Void)? = nil
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.timeout = timeout
            self.retry = retry
            self.failurePolicy = failurePolicy
            self.partlyScored = partlyScored
            self.moderationPath = moderationPath
            self.maxInputsPerRequest = maxInputsPerRequest
            self.logger = logger
            self.onEvent = onEvent
        }
    }

    /// Retries with exponential backoff and jitter.
    ///
    /// Retried: 429 and 503 answers (waiting at least the server's `Retry-After` seconds when it sends them) and
    /// failures to connect. Never retried: other 4xx answers, 504 (the request's own deadline passed), client
    /// timeouts (the caller's latency budget is spent) and cancellation.
    public struct RetryPolicy: Sendable, Equatable {
        /// Total attempts including the first (1 = no retries).
        public var maxAttempts: Int
        /// Backoff before the first retry; doubles on each further retry.
        public var baseDelay: Duration
        /// Cap on the backoff. A `Retry-After` hint longer than this ends the retries at once, with the hint in
        /// ``WardenClientError/retryAfter``, so a caller is never held longer than it agreed to.
        public var maxDelay: Duration
        /// Randomise each backoff within [delay/2, delay] so that many clients do not retry in lockstep.
        public var jitter: Bool

        public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2), jitter: Bool = true) {
            self.maxAttempts = max(1, maxAttempts)
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
            self.jitter = jitter
        }

        /// 3 attempts, 100 ms base delay, 2 s cap, with jitter.
        public static let `default` = RetryPolicy()
        /// One attempt only.
        public static let none = RetryPolicy(maxAttempts: 1)

        /// The wait before attempt `attempt + 1` (attempt counts from 1), honouring a `Retry-After` hint.
        /// Returns nil when the hint exceeds ``maxDelay``.
        func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration? {
            if let retryAfter, retryAfter > maxDelay { return nil }
            let exponent = min(attempt - 1, 30)
            var backoff = baseDelay * (1 << exponent)
            if backoff > maxDelay { backoff = maxDelay }
            if jitter {
                let half = backoff / 2
                let extra = Double.random(in: 0...1)
                backoff = half + half * extra
            }
            if let retryAfter, retryAfter > backoff { return retryAfter }
            return backoff
        }
    }

    /// What to do with a text Warden could not score (unreachable, timeout, overloaded, …).
    public enum FailurePolicy: String, Sendable, Equatable, CaseIterable {
        /// Deliver the text unscored and report it (log warning + ``WardenClientEvent/unscored(reason:policy:)``).
        /// Chat keeps working when Warden is down; the unscored texts can be re-scored later.
        case failOpen = "fail-open"
        /// Hold or refuse the text. Nothing unscored is shown, at the cost of chat stopping while Warden is down.
        case failClosed = "fail-closed"
    }
}

extension WardenClient {
    /// What to do with a text Warden scored only in part (longer than the model covers: cut, or more windows than
    /// it allows) and flagged nothing in. A flag in the part scored blocks the text whatever the policy.
    public enum PartlyScoredPolicy: String, Sendable, Equatable, CaseIterable {
        /// Allow it, and report it (log warning + ``WardenClientEvent/partlyScored(_:policy:)``): abuse in the
        /// part not scored would get through, so it should be visible.
        case allow = "allow"
        /// Treat it as not scored: ``Verdict/unscored(reason:policy:)`` with ``WardenClientError/Code/partlyScored``,
        /// and the failure policy decides (`.failOpen` delivers it marked unscored, `.failClosed` refuses it).
        case unscored = "unscored"
    }
}

/// Something the client did that a chat server may want to count or alert on.
public enum WardenClientEvent: Sendable {
    /// An attempt failed with a retryable error; the client waits `delay` and tries attempt `nextAttempt`.
    case retrying(nextAttempt: Int, delay: Duration, after: WardenClientError)
    /// ``WardenClient/screen(_:options:)`` could not score a text; `policy` decided whether it is delivered.
    case unscored(reason: WardenClientError, policy: WardenClient.FailurePolicy)
    /// ``WardenClient/screen(_:options:)`` got a result that covers only part of the text and flags nothing;
    /// `policy` decided what became of it.
    case partlyScored(ModerationResult, policy: WardenClient.PartlyScoredPolicy)
}

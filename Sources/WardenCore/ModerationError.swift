/// Why a moderation request did not produce scores.
///
/// Switch on ``code``; ``retryAfter`` is set for ``Code/overloaded`` (map it to HTTP 429 + `Retry-After`).
public struct ModerationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable, machine-readable error category. New codes may be added in later versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The queue is full (items or tokens); retry after ``ModerationError/retryAfter``. HTTP 429.
        public static let overloaded = Code("overloaded")
        /// The request alone exceeds the queue's admission bounds and can never be admitted. HTTP 413.
        public static let requestTooLarge = Code("request_too_large")
        /// The request's deadline passed before its items reached the model. HTTP 504.
        public static let deadlineExceeded = Code("deadline_exceeded")
        /// The caller's task was cancelled (client went away) before its items reached the model.
        public static let cancelled = Code("cancelled")
        /// The engine is shutting down (or has stopped) and admits no new work. HTTP 503.
        public static let shuttingDown = Code("shutting_down")
        /// A per-request threshold names an unknown label or is not a number in 0...1. HTTP 422.
        public static let invalidThreshold = Code("invalid_threshold")
        /// A text has nothing to score once normalised and tokenized (empty, only whitespace, control or
        /// private-use characters, an entity such as `&nbsp;`); ``ModerationError/textIndex`` says which.
        /// HTTP 400.
        public static let emptyText = Code("empty_text")
        /// The model backend failed or returned a malformed result. HTTP 500.
        public static let backendFailure = Code("backend_failure")
    }

    private enum Kind: Equatable, Sendable {
        case overloaded(resource: String, retryAfter: Duration)
        case requestTooLarge(items: Int, tokens: Int, maxItems: Int, maxTokens: Int, lane: Lane?)
        case deadlineExceeded(deadline: Duration?)
        case deadlineUnreachable(estimate: Duration, deadline: Duration)
        case cancelled
        case shuttingDown
        case unknownLabel(String, known: [String])
        case thresholdOutOfRange(String, Float)
        case emptyText(index: Int)
        case backendFailure(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// The error's category.
    public var code: Code {
        switch kind {
        case .overloaded: .overloaded
        case .requestTooLarge: .requestTooLarge
        case .deadlineExceeded, .deadlineUnreachable: .deadlineExceeded
        case .cancelled: .cancelled
        case .shuttingDown: .shuttingDown
        case .unknownLabel, .thresholdOutOfRange: .invalidThreshold
        case .emptyText: .emptyText
        case .backendFailure: .backendFailure
        }
    }

    /// For ``Code/emptyText``: the index of the text, in the order the texts were given.
    public var textIndex: Int? {
        if case .emptyText(let index) = kind { return index }
        return nil
    }

    /// For ``Code/overloaded``: an estimate of when the queue will have room again.
    public var retryAfter: Duration? {
        if case .overloaded(_, let retryAfter) = kind { return retryAfter }
        // A request refused for its deadline may fit once the work ahead of it has drained.
        if case .deadlineUnreachable(let estimate, let deadline) = kind {
            return .milliseconds(Int64((min(max((estimate - deadline).seconds, 1), 60) * 1000).rounded(.up)))
        }
        return nil
    }

    public var description: String {
        switch kind {
        case .overloaded(let resource, let retryAfter):
            "the moderation queue is full (\(resource)); retry after \(Self.format(retryAfter)), or send fewer texts per request"
        case .requestTooLarge(let items, let tokens, let maxItems, let maxTokens, let lane):
            if let lane, lane == .interactive {
                "the request needs \(items) model inputs (\(tokens) tokens) but one interactive request may cost at most \(maxTokens) tokens; send it on the bulk lane or split it"
            } else {
                "the request needs \(items) model inputs (\(tokens) tokens) but one request may take at most \(maxItems) inputs and \(maxTokens) tokens of the queue; split it into smaller requests"
            }
        case .deadlineExceeded(let deadline):
            if let deadline {
                "the request's deadline (\(Self.format(deadline))) passed before the model scored it; raise the deadline or reduce load"
            } else {
                "the request's deadline passed before the model scored it; raise the deadline or reduce load"
            }
        case .deadlineUnreachable(let estimate, let deadline):
            "the request cannot be scored within its deadline (\(Self.format(deadline))): the work queued ahead of it needs about \(Self.format(estimate)); it was refused before any compute was spent on it. Raise the deadline, send fewer texts, or retry when the queue is shorter"
        case .cancelled:
            "the request was cancelled before the model scored it (the caller went away)"
        case .shuttingDown:
            "the moderation engine is shutting down and accepts no new work; retry on another instance"
        case .unknownLabel(let label, let known):
            "threshold given for unknown label \"\(label)\"; the model's labels are \(known.joined(separator: ", "))"
        case .thresholdOutOfRange(let label, let value):
            "threshold \(value) for label \"\(label)\" must be a number between 0 and 1"
        case .emptyText(let index):
            "text \(index) has nothing to score: it is empty or holds only whitespace, control, format or private-use characters once normalised"
        case .backendFailure(let message):
            "the model backend failed: \(message)"
        }
    }

    private static func format(_ duration: Duration) -> String {
        let ms = duration.milliseconds
        return ms >= 1000 ? "\((ms / 100).rounded() / 10) s" : "\(Int(ms.rounded())) ms"
    }

    static func overloaded(_ resource: String, retryAfter: Duration) -> Self { .init(.overloaded(resource: resource, retryAfter: retryAfter)) }
    static func requestTooLarge(items: Int, tokens: Int, maxItems: Int, maxTokens: Int, lane: Lane? = nil) -> Self {
        .init(.requestTooLarge(items: items, tokens: tokens, maxItems: maxItems, maxTokens: maxTokens, lane: lane))
    }
    static func deadlineUnreachable(estimate: Duration, deadline: Duration) -> Self {
        .init(.deadlineUnreachable(estimate: estimate, deadline: deadline))
    }
    static func deadlineExceeded(_ deadline: Duration? = nil) -> Self { .init(.deadlineExceeded(deadline: deadline)) }
    static var cancelled: Self { .init(.cancelled) }
    /// The engine is shutting down (or stopped) and takes no more work.
    public static var shuttingDown: Self { .init(.shuttingDown) }
    static func unknownLabel(_ label: String, known: [String]) -> Self { .init(.unknownLabel(label, known: known)) }
    static func thresholdOutOfRange(_ label: String, _ value: Float) -> Self { .init(.thresholdOutOfRange(label, value)) }
    static func emptyText(index: Int) -> Self { .init(.emptyText(index: index)) }
    static func backendFailure(_ message: String) -> Self { .init(.backendFailure(message)) }
}

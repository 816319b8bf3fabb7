/// How long texts (longer than the model's maximum sequence length) are scored.
public enum LongTextPolicy: Sendable, Hashable {
    /// Keep the first `maxSequenceLength - 2` word pieces and report `truncated`.
    case truncate
    /// Score overlapping windows of `maxSequenceLength` tokens (`[CLS]` + up to `maxSequenceLength - 2`
    /// word pieces + `[SEP]`), consecutive windows sharing `overlap` word pieces, and take the per-label
    /// maximum, so a slur at the end of a long message is not missed. The last window is aligned with the
    /// end of the text.
    case windows(overlap: Int)

    /// The policy's name on the command line: `truncate` or `windows`.
    public var name: String {
        switch self {
        case .truncate: "truncate"
        case .windows: "windows"
        }
    }
}

/// How the ``Moderator`` turns texts into model inputs and reuses results: the long-text policy and the
/// result cache. Every field has a default; the help texts of `warden` quote these defaults.
public struct ModeratorConfiguration: Sendable, Hashable {
    /// How texts longer than the model's maximum are scored. Default `.windows(overlap: 32)` (a quarter of
    /// a 128-token window).
    public var longTextPolicy: LongTextPolicy = .windows(overlap: 32)
    /// Most windows scored for one text: every word piece of a text up to `126 + 63 × 94 = 6,048` word
    /// pieces (about 5,000 words) is scored with the default 128-token model and 32-piece overlap. A longer
    /// text is scored from its start over this many windows and reported `truncated`. Default 64.
    public var maxWindowsPerText: Int = 64
    /// Whether a text that was only partly scored (`truncated`) is `flagged` whatever its scores, so that
    /// abuse past the scored part cannot slip through. Default false (the result still says `truncated`).
    public var flagPartiallyScored: Bool = false
    /// Capacity of the LRU cache of recent results, keyed by the normalised text. 0 turns it off.
    /// Default 10,000.
    public var cacheCapacity: Int = 10_000
    /// Texts longer than this many UTF-8 bytes (after normalisation) are not cached, which bounds the
    /// cache's memory to about `cacheCapacity × cacheMaxTextBytes`. Default 2048.
    public var cacheMaxTextBytes: Int = 2048

    /// The defaults described on each property.
    public init() {}

    /// Checks that every value is usable with a model of `maxSequenceLength` tokens.
    public func validate(maxSequenceLength: Int) throws(ConfigurationError) {
        let check = ConfigurationError.check
        if case .windows(let overlap) = longTextPolicy {
            try check(maxSequenceLength > 2, "longTextPolicy", "windows need room for at least one word piece")
            try check(
                overlap >= 0 && overlap < maxSequenceLength - 2, "longTextPolicy.overlap",
                "must be between 0 and \(maxSequenceLength - 3) for a model of \(maxSequenceLength) tokens, got \(overlap)")
        }
        try check(maxWindowsPerText > 0, "maxWindowsPerText", "must be positive, got \(maxWindowsPerText)")
        try check(cacheCapacity >= 0, "cacheCapacity", "must not be negative (0 turns the cache off)")
        try check(cacheMaxTextBytes >= 0, "cacheMaxTextBytes", "must not be negative")
    }
}

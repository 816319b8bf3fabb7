/// Text normalisation applied before tokenization, chosen by the model manifest
/// (`"text_normalization"`: `"none"` or `"platform-v1"`).
public enum TextNormalization: String, Sendable, Codable, CaseIterable {
    /// The text is tokenized as it is.
    case none
    /// Neutralises platform artefacts: HTML entities, URLs, retweet markers, @handles.
    /// The reference is `scripts/warden_text.py` (`normalize_platform_v1`); this is an exact port,
    /// checked against `Tests/Fixtures/normalization_golden.jsonl`.
    case platformV1 = "platform-v1"
}

/// Applies `mode` to `text` (see ``TextNormalization``).
///
/// platform-v1, in order, each rule over the previous rule's output:
/// 1. HTML entities in one left-to-right pass: `&amp; &lt; &gt; &quot; &apos; &nbsp;` and numeric
///    `&#DDDD;` (1-7 digits) / `&#xHHHH;` (1-6 hex digits) when the value is a Unicode scalar other than U+0000.
/// 2. URLs (`http://`, `https://`, `www.`, any case, not preceded by an ASCII letter or digit, up to the
///    next ASCII whitespace) become `http`.
/// 3. `RT @name:` at the start or after whitespace is removed.
/// 4. `@name` becomes `@user`.
public func normalizeText(_ text: String, _ mode: TextNormalization) -> String {
    switch mode {
    case .none:
        return text
    case .platformV1:
        var bytes = Array(text.utf8)
        if bytes.contains(UInt8(ascii: "&")) { bytes = PlatformV1.decodeEntities(bytes) }
        bytes = PlatformV1.replaceURLs(bytes)
        if bytes.contains(UInt8(ascii: "@")) {
            bytes = PlatformV1.removeRetweetMarkers(bytes)
            bytes = PlatformV1.replaceHandles(bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

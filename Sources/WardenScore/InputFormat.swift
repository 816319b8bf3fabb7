/// Input formats of `warden score`.
public enum InputFormat: String, CaseIterable, Sendable {
    case text, jsonl, csv

    /// The format named by a file extension (a trailing `.gz` is ignored); plain text otherwise.
    public static func guess(path: String) -> InputFormat {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .jsonl }
        if name.hasSuffix(".csv") { return .csv }
        return .text
    }
}

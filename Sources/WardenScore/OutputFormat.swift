/// Output formats of `warden score`.
public enum OutputFormat: String, CaseIterable, Sendable {
    case jsonl, csv

    /// CSV for a `.csv` (or `.csv.gz`-less) file name, JSON Lines otherwise.
    public static func guess(path: String) -> OutputFormat {
        path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
    }
}

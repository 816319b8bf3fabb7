import Foundation

/// The encoding speed of a tokenizer on one thread: texts encoded `repeats` times per run, best of
/// ``runs`` runs (after one warm-up pass), as `warden tokenize --benchmark` prints it.
public struct EncodeBenchmark: Sendable, CustomStringConvertible {
    /// Runs measured; the best counts.
    public static let runs = 5
    /// Texts encoded per run (input texts × repeats).
    public var texts: Int
    /// UTF-8 bytes encoded per run.
    public var bytes: Int
    /// Token ids produced per run.
    public var tokens: Int
    /// The fastest run.
    public var best: Duration

    /// Measures `tokenizer` on `texts`, each encoded to at most `maxLength` ids, `repeats` times per run.
    public init(_ tokenizer: WordPieceTokenizer, texts input: [String], repeats: Int, maxLength: Int) {
        texts = input.count * repeats
        bytes = input.reduce(0) { $0 + $1.utf8.count } * repeats
        var tokens = 0
        for text in input { tokens &+= tokenizer.encode(text, maxLength: maxLength).ids.count }  // warm-up
        var best = Duration.seconds(Int64.max)
        let clock = ContinuousClock()
        for _ in 0..<Self.runs {
            tokens = 0
            let elapsed = clock.measure {
                for _ in 0..<repeats {
                    for text in input { tokens &+= tokenizer.encode(text, maxLength: maxLength).ids.count }
                }
            }
            best = min(best, elapsed)
        }
        self.tokens = tokens
        self.best = best
    }

    public var description: String {
        let seconds = max(Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18, 1e-9)
        let megabytes = Double(bytes) / 1e6
        return "warden encode (Swift, 1 thread): \(texts) texts, \(String(format: "%.2f", megabytes)) MB, \(tokens) tokens, "
            + "best of \(Self.runs): \(String(format: "%.3f", seconds)) s, \(Int(Double(texts) / seconds)) texts/s, "
            + "\(String(format: "%.2f", megabytes / seconds)) MB/s"
    }
}

extension WordPieceTokenizer {
    /// The longest encoding `warden tokenize` prints by default, [CLS] and [SEP] included.
    public static let defaultMaxLength = 256
}

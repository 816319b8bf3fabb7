// Single-threaded cost of text normalisation (platform-v1, platform-v2) and of tokenizing, per text.
// Compiled together with Sources/WordPiece by scripts/bench_normalization.sh (no package build needed).
import Foundation

@main enum BenchNormalization {
    static func main() throws {
        let tokenizer = try WordPieceTokenizer(directory: CommandLine.arguments[1])
        var sink = 0
        for path in CommandLine.arguments.dropFirst(2) {
            let texts = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            let repeats = 20
            func time(_ label: String, _ body: (String) -> Int) {
                var best = Double.infinity
                for _ in 0..<5 {
                    let start = ContinuousClock.now
                    for _ in 0..<repeats { for t in texts { sink &+= body(t) } }
                    let d = ContinuousClock.now - start
                    best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                }
                let perText = best / Double(repeats * texts.count) * 1e6
                print("\((path as NSString).lastPathComponent) \(label): \(String(format: "%.2f", perText)) µs/text (best of 5, \(texts.count) texts x \(repeats))")
            }
            time("normalize platform-v1 ") { normalizeText($0, .platformV1).utf8.count }
            time("normalize platform-v2 ") { normalizeText($0, .platformV2).utf8.count }
            time("encode (max 128)      ") { tokenizer.encode($0, maxLength: 128).ids.count }
            time("platform-v1 + encode  ") { tokenizer.encode(normalizeText($0, .platformV1), maxLength: 128).ids.count }
            time("platform-v2 + encode  ") { tokenizer.encode(normalizeText($0, .platformV2), maxLength: 128).ids.count }
        }
        if sink == 42 { print("") }
    }
}

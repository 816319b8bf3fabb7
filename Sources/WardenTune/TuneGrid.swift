import Foundation

/// The grid and the measurement `warden tune` runs by default, and the lists its flags take.
public struct TuneGrid: Sendable {
    /// Comma-separated maxBatchSize values.
    public var batchSizes = "1,4,8,16,32"
    /// Comma-separated interactive maxQueueDelay values in ms.
    public var delays = "0,2,5"
    /// Comma-separated WORKERSxTORCHxBLAS thread combinations.
    public var threads = "1x1x2,1x2x1,2x1x1"
    /// Rounds of the whole grid, interleaved, pooled per cell.
    public var rounds = 2
    /// The recommendation's latency target: p99 per call, ms.
    public var p99TargetMs: Double = 50
    /// Each cell's measurement: callers, seconds, warm-up, cache, batch tokens, seed.
    public var spec = TuneRunner.Spec(concurrency: 64, seconds: 10, warmup: 2, cacheSize: 0, maxBatchTokens: 4096, seed: 1)

    /// The defaults described on each property.
    public init() {}

    /// Positive integers, comma-separated (`--batch-sizes`).
    public static func integers(_ text: String, flag: String) throws(TuneError) -> [Int] {
        let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
            throw TuneError("\(flag) needs comma-separated positive integers (got '\(text)')")
        }
        return values
    }

    /// Non-negative numbers, comma-separated (`--delays`).
    public static func numbers(_ text: String, flag: String) throws(TuneError) -> [Double] {
        let values = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 0 }) else {
            throw TuneError("\(flag) needs comma-separated non-negative numbers (got '\(text)')")
        }
        return values
    }

    /// WORKERSxTORCHxBLAS items, comma-separated (`--threads`).
    public static func combos(_ text: String) throws(TuneError) -> [ThreadCombo] {
        var combos: [ThreadCombo] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "x").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ $0 >= 1 }) else {
                throw TuneError("--threads needs WORKERSxTORCHxBLAS items such as 1x1x2 (got '\(item)')")
            }
            combos.append(ThreadCombo(workers: parts[0], torch: parts[1], blas: parts[2]))
        }
        return combos
    }

    /// `padded` and `packedN` items, comma-separated (`--layouts`).
    public static func layouts(_ text: String) throws(TuneError) -> [TuneLayout] {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let layouts = items.compactMap(TuneLayout.init)
        guard !items.isEmpty, layouts.count == items.count else {
            throw TuneError("--layouts takes 'padded' and 'packedN' items (N >= 2), comma-separated (got \"\(text)\")")
        }
        return layouts
    }

    /// The messages of a corpus file, one per line, empty lines left out.
    public static func corpus(path: String) throws(TuneError) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TuneError("cannot read the corpus \(path) (make one with scripts/make_chat_corpus.py --n 2000 --out FILE)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw TuneError("the corpus \(path) has no messages") }
        return lines
    }
}

/// A tuning grid or corpus that cannot be used; the description is one line for the user.
public struct TuneError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

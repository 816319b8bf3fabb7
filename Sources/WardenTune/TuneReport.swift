import Foundation

/// What `warden tune` prints after the table: the recommended `warden serve` flags (the cell with the
/// highest throughput whose p99 is within the target and that had no errors), the batching gain, each
/// packed layout against padding, and the best throughput per precision.
public struct TuneReport: Sendable {
    public var results: [TuneResult]
    /// The latency target of the recommendation: p99 per call, ms.
    public var p99TargetMs: Double

    public init(results: [TuneResult], p99TargetMs: Double) {
        self.results = results
        self.p99TargetMs = p99TargetMs
    }

    /// The table of every cell, after a blank line.
    public var table: [String] { ["", TuneResult.tableHeader] + results.map(\.tableLine) }

    /// The cell recommended: the fastest within the p99 target and without errors.
    public var recommended: TuneResult? {
        results.filter { $0.p99Ms <= p99TargetMs && $0.errors == 0 }.max(by: { $0.messagesPerSecond < $1.messagesPerSecond })
    }

    /// The lines of the report.
    public var lines: [String] {
        var lines: [String] = []
        if let best = recommended {
            lines.append(
                "\nrecommended (p99 \(String(format: "%.1f", best.p99Ms)) ms <= \(p99TargetMs) ms, \(String(format: "%.0f", best.messagesPerSecond)) messages/s):"
            )
            lines.append("  warden serve \(best.serveFlags)")
        } else {
            let lowest = results.min(by: { $0.p99Ms < $1.p99Ms }).map { "\($0.serveFlags) (\(String(format: "%.1f", $0.p99Ms)) ms)" }
            lines.append("\nno cell met p99 <= \(p99TargetMs) ms; lowest p99: \(lowest ?? "none")")
        }
        let fastest = { (cells: [TuneResult]) in cells.max(by: { $0.messagesPerSecond < $1.messagesPerSecond }) }
        if let one = fastest(results.filter { $0.maxBatchSize == 1 }), let best = fastest(results), best.maxBatchSize > 1 {
            lines.append(
                String(
                    format: "batching gain: best %.0f msg/s (%@, batch %d) / best unbatched %.0f msg/s = %.2fx",
                    best.messagesPerSecond, best.layout.description, best.maxBatchSize, one.messagesPerSecond,
                    best.messagesPerSecond / one.messagesPerSecond))
        }
        let byLayout = Dictionary(grouping: results, by: \.layout)
        if byLayout.count > 1, let padded = byLayout[.padded].flatMap(fastest) {
            for (layout, cells) in byLayout where layout != .padded {
                if let best = fastest(cells) {
                    lines.append(
                        String(
                            format: "%@ vs padded: best %.0f / %.0f msg/s = %.2fx", layout.description,
                            best.messagesPerSecond, padded.messagesPerSecond, best.messagesPerSecond / padded.messagesPerSecond))
                }
            }
        }
        let byPrecision = Dictionary(grouping: results, by: \.precision)
        if byPrecision.count > 1 {
            let best = byPrecision.mapValues { $0.map(\.messagesPerSecond).max() ?? 0 }.sorted { $0.value > $1.value }
            lines.append("precision: " + best.map { "\($0.key) best \(String(format: "%.0f", $0.value)) msg/s" }.joined(separator: ", "))
        }
        return lines
    }

    /// The results as CSV (``TuneResult/csvHeader`` and a line per cell).
    public var csv: String {
        TuneResult.csvHeader + "\n" + results.map(\.csvLine).joined(separator: "\n") + "\n"
    }
}

/// A `warden tune` child process: one thread combination measured in a process of its own (thread
/// settings are process-wide), its cells written to standard output as `CELL,<csv line>`.
public enum TuneChild {
    /// The prefix of a cell's line on a child's standard output.
    public static let cellPrefix = "CELL,"

    /// The command line (after the executable) of the child that measures `combo`: `warden tune --child` with
    /// the parent's grid, measurement and model, for that combination only.
    public static func arguments(
        combo: ThreadCombo, batchSizes: String, delays: String, layouts: [TuneLayout], precisions: [String],
        spec: TuneRunner.Spec, rounds: Int, model: String, corpus: String?
    ) -> [String] {
        var arguments = [
            "tune", "--child", "--threads", combo.description, "--batch-sizes", batchSizes, "--delays", delays,
            "--layouts", layouts.map(\.description).joined(separator: ","), "--precisions", precisions.joined(separator: ","),
            "--concurrency", "\(spec.concurrency)", "--seconds", "\(spec.seconds)", "--warmup", "\(spec.warmup)",
            "--rounds", "\(rounds)", "--cache-size", "\(spec.cacheSize)", "--max-batch-tokens", "\(spec.maxBatchTokens)",
            "--seed", "\(spec.seed)", "--model", model,
        ]
        if let minPaddingEfficiency = spec.minPaddingEfficiency { arguments += ["--min-padding-efficiency", "\(minPaddingEfficiency)"] }
        if let corpus { arguments += ["--corpus", corpus] }
        return arguments
    }

    /// The line a child prints for `result`.
    public static func line(_ result: TuneResult) -> String { cellPrefix + result.csvLine }

    /// Runs `executable` with `arguments` and returns the cells it prints, passing each to `progress` as it
    /// arrives; other output is ignored.
    public static func run(executable: URL, arguments: [String], progress: (TuneResult) -> Void = { _ in }) throws -> [TuneResult] {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var results: [TuneResult] = []
        var buffer = Data()
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if line.hasPrefix(cellPrefix), let result = TuneResult(csvLine: String(line.dropFirst(cellPrefix.count))) {
                    results.append(result)
                    progress(result)
                }
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TuneError("tune child \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus)")
        }
        return results
    }
}

import Foundation
import WardenCore

/// How a tune cell lays batches out for the model: padded rows, or messages packed into rows of a size.
public enum TuneLayout: Sendable, Hashable, CustomStringConvertible {
    case padded
    case packed(rowTokens: Int)

    /// "padded" or "packedN" (as `--layouts` takes them).
    public var description: String {
        switch self {
        case .padded: "padded"
        case .packed(let rowTokens): "packed\(rowTokens)"
        }
    }

    /// Parses "padded" or "packedN" (N ≥ 2).
    public init?(_ text: String) {
        if text == "padded" {
            self = .padded
            return
        }
        guard text.hasPrefix("packed"), let n = Int(text.dropFirst(6)), n >= 2 else { return nil }
        self = .packed(rowTokens: n)
    }

    /// Applies this layout to a batching configuration.
    public func apply(to batching: inout BatchingConfiguration) {
        switch self {
        case .padded: batching.packing = .off
        case .packed(let rowTokens):
            batching.packing = .auto
            batching.packedRowTokens = rowTokens
        }
    }

    /// The `warden serve` flags of this layout.
    var serveFlags: String {
        switch self {
        case .padded: "--packing off"
        case .packed(let rowTokens): "--packing auto --packed-row-tokens \(rowTokens)"
        }
    }
}

/// One cell's figures.
public struct TuneResult: Sendable {
    public var maxBatchSize: Int
    public var delayMs: Double
    public var layout: TuneLayout
    public var combo: ThreadCombo
    /// The precision the model computed in ("bf16", "fp32", …; "as-stored" when not known).
    public var precision: String
    public var messages: Int
    public var messagesPerSecond: Double
    public var p50Ms: Double
    public var p99Ms: Double
    /// Real tokens over the tokens the model computed (padding efficiency, or packing efficiency when packed).
    public var paddingEfficiency: Double
    public var meanBatch: Double
    public var errors: Int
    public var load1: Double

    /// The `warden serve` flags of this cell.
    public var serveFlags: String {
        let precisionFlag = ["bf16", "fp32"].contains(precision) ? " --precision \(precision)" : ""
        return
            "--max-batch-size \(maxBatchSize) --max-queue-delay-ms \(TuneResult.format(delayMs)) \(layout.serveFlags) --workers \(combo.workers) --torch-threads \(combo.torch) --blas-threads \(combo.blas)\(precisionFlag)"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    public static let tableHeader = "threads  precision  layout     batch  delay_ms   msg/s   p50_ms   p99_ms  tok_eff  mean_batch  errors  load1"
    public var tableLine: String {
        // Text columns are padded here: Foundation on Linux ignores the width of %@.
        func left(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        return left(combo.description, 7) + "  " + left(precision, 9) + "  " + left(layout.description, 9) + "  "
            + String(format: "%5d  ", maxBatchSize) + right(TuneResult.format(delayMs), 8)
            + String(
                format: "  %6.0f  %7.1f  %7.1f  %6.1f%%  %10.1f  %6d  %5.2f", messagesPerSecond, p50Ms, p99Ms, paddingEfficiency * 100,
                meanBatch, errors, load1)
    }

    public static let csvHeader =
        "workers,torch_threads,blas_threads,layout,max_batch_size,max_queue_delay_ms,messages,messages_per_s,p50_ms,p99_ms,padding_efficiency,mean_batch,errors,load1,precision"
    public var csvLine: String {
        [
            String(combo.workers), String(combo.torch), String(combo.blas), layout.description, String(maxBatchSize), TuneResult.format(delayMs),
            String(messages), String(format: "%.1f", messagesPerSecond), String(format: "%.2f", p50Ms), String(format: "%.2f", p99Ms),
            String(format: "%.4f", paddingEfficiency), String(format: "%.2f", meanBatch), String(errors), String(format: "%.2f", load1), precision,
        ]
        .joined(separator: ",")
    }

    public init(
        maxBatchSize: Int, delayMs: Double, layout: TuneLayout = .padded, combo: ThreadCombo, precision: String = "as-stored", messages: Int,
        messagesPerSecond: Double, p50Ms: Double, p99Ms: Double, paddingEfficiency: Double, meanBatch: Double, errors: Int,
        load1: Double
    ) {
        self.maxBatchSize = maxBatchSize
        self.delayMs = delayMs
        self.layout = layout
        self.combo = combo
        self.precision = precision
        self.messages = messages
        self.messagesPerSecond = messagesPerSecond
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
        self.paddingEfficiency = paddingEfficiency
        self.meanBatch = meanBatch
        self.errors = errors
        self.load1 = load1
    }

    /// Parses a line of ``csvHeader`` (a line without the last column, precision, reads as "as-stored").
    public init?(csvLine: String) {
        let f = csvLine.split(separator: ",").map(String.init)
        guard f.count == 14 || f.count == 15, let w = Int(f[0]), let t = Int(f[1]), let b = Int(f[2]), let layout = TuneLayout(f[3]),
            let size = Int(f[4]), let delay = Double(f[5]), let messages = Int(f[6]), let rate = Double(f[7]),
            let p50 = Double(f[8]), let p99 = Double(f[9]), let pad = Double(f[10]), let mean = Double(f[11]),
            let errors = Int(f[12]), let load = Double(f[13])
        else { return nil }
        self.init(
            maxBatchSize: size, delayMs: delay, layout: layout, combo: ThreadCombo(workers: w, torch: t, blas: b),
            precision: f.count == 15 ? f[14] : "as-stored", messages: messages,
            messagesPerSecond: rate, p50Ms: p50, p99Ms: p99, paddingEfficiency: pad, meanBatch: mean, errors: errors, load1: load)
    }
}

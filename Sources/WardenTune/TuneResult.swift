import Foundation

/// One cell's figures.
public struct TuneResult: Sendable {
    public var maxBatchSize: Int
    public var delayMs: Double
    public var combo: ThreadCombo
    public var messages: Int
    public var messagesPerSecond: Double
    public var p50Ms: Double
    public var p99Ms: Double
    public var paddingEfficiency: Double
    public var meanBatch: Double
    public var errors: Int
    public var load1: Double

    /// The `warden serve` flags of this cell.
    public var serveFlags: String {
        "--max-batch-size \(maxBatchSize) --max-queue-delay-ms \(TuneResult.format(delayMs)) --workers \(combo.workers) --torch-threads \(combo.torch) --blas-threads \(combo.blas)"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    public static let tableHeader = "threads  batch  delay_ms   msg/s   p50_ms   p99_ms  pad_eff  mean_batch  errors  load1"
    public var tableLine: String {
        String(format: "%-7@  %5d  %8@  %6.0f  %7.1f  %7.1f  %6.1f%%  %10.1f  %6d  %5.2f",
               combo.description as NSString, maxBatchSize, TuneResult.format(delayMs) as NSString, messagesPerSecond,
               p50Ms, p99Ms, paddingEfficiency * 100, meanBatch, errors, load1)
    }

    public static let csvHeader = "workers,torch_threads,blas_threads,max_batch_size,max_queue_delay_ms,messages,messages_per_s,p50_ms,p99_ms,padding_efficiency,mean_batch,errors,load1"
    public var csvLine: String {
        [String(combo.workers), String(combo.torch), String(combo.blas), String(maxBatchSize), TuneResult.format(delayMs),
         String(messages), String(format: "%.1f", messagesPerSecond), String(format: "%.2f", p50Ms), String(format: "%.2f", p99Ms),
         String(format: "%.4f", paddingEfficiency), String(format: "%.2f", meanBatch), String(errors), String(format: "%.2f", load1)]
            .joined(separator: ",")
    }

    public init(maxBatchSize: Int, delayMs: Double, combo: ThreadCombo, messages: Int, messagesPerSecond: Double, p50Ms: Double,
         p99Ms: Double, paddingEfficiency: Double, meanBatch: Double, errors: Int, load1: Double) {
        self.maxBatchSize = maxBatchSize; self.delayMs = delayMs; self.combo = combo; self.messages = messages
        self.messagesPerSecond = messagesPerSecond; self.p50Ms = p50Ms; self.p99Ms = p99Ms
        self.paddingEfficiency = paddingEfficiency; self.meanBatch = meanBatch; self.errors = errors; self.load1 = load1
    }

    public init?(csvLine: String) {
        let f = csvLine.split(separator: ",").map(String.init)
        guard f.count == 13, let w = Int(f[0]), let t = Int(f[1]), let b = Int(f[2]), let size = Int(f[3]), let delay = Double(f[4]),
              let messages = Int(f[5]), let rate = Double(f[6]), let p50 = Double(f[7]), let p99 = Double(f[8]),
              let pad = Double(f[9]), let mean = Double(f[10]), let errors = Int(f[11]), let load = Double(f[12]) else { return nil }
        self.init(maxBatchSize: size, delayMs: delay, combo: ThreadCombo(workers: w, torch: t, blas: b), messages: messages,
                  messagesPerSecond: rate, p50Ms: p50, p99Ms: p99, paddingEfficiency: pad, meanBatch: mean, errors: errors, load1: load)
    }
}

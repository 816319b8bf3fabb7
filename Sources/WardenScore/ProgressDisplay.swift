import Foundation
import WardenCore

/// The progress line on standard error: a bar with count, percentage (when the input's size is known),
/// rate and ETA, redrawn at most 5 times a second.
struct ProgressDisplay {
    let enabled: Bool
    let totalBytes: Int64?
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastDraw: ContinuousClock.Instant
    private var drawn = false

    init(enabled: Bool, totalBytes: Int64?) {
        self.enabled = enabled
        self.totalBytes = totalBytes.flatMap { $0 > 0 ? $0 : nil }
        start = clock.now
        lastDraw = start
    }

    /// Redraws when due (or when `force`).
    mutating func update(records: Int, bytes: Int64, force: Bool = false) {
        guard enabled else { return }
        let now = clock.now
        guard force || now - lastDraw >= .milliseconds(200) else { return }
        lastDraw = now
        let elapsed = max((now - start).seconds, 1e-9)
        let rate = Double(records) / elapsed
        var line = ""
        if let totalBytes {
            let fraction = min(1, max(0, Double(bytes) / Double(totalBytes)))
            let width = 24
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100)
            line += "\(Self.grouped(records)) records  \(Self.grouped(Int(rate))) msg/s"
            if fraction > 0.001, fraction < 1 {
                line += "  ETA \(Self.duration(elapsed * (1 - fraction) / fraction))"
            }
        } else {
            line += "\(Self.grouped(records)) records  \(Self.grouped(Int(rate))) msg/s  \(Self.duration(elapsed)) elapsed"
        }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
        drawn = true
    }

    /// Clears the progress line (before the summary).
    mutating func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        drawn = false
    }

    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%dh%02dm%02ds", total / 3600, total / 60 % 60, total % 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%.1fs", seconds)
    }
}

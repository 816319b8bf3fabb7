import Foundation

/// The 1-, 5- and 15-minute load averages as /proc/loadavg gives them, or "?".
public func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

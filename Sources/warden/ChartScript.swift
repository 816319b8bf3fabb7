import Foundation

/// The Python scripts that draw `tune --png` and `compare --png` (Debian's python3-matplotlib, which lives with
/// the system interpreter, not with a pyenv one earlier on PATH).
enum ChartScript {
    /// Runs `script CSV PNG [extra...]` and returns what happened, for the user.
    static func draw(script: String, csv: String, png: String, extra: [String] = []) -> String {
        let process = Process()
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, csv, png] + extra
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0 ? "wrote \(png)" : "chart: \(script) failed (is python3-matplotlib installed?)"
        } catch {
            return "chart: cannot run python3: \(error)"
        }
    }
}

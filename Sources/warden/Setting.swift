import ArgumentParser
import Foundation

/// Command-line flags win; `WARDEN_*` environment variables fill in what a flag left out; then defaults.
enum Setting {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The flag's value, else the environment variable parsed as `T`, else `fallback`.
    static func resolve<T: LosslessStringConvertible>(_ flag: T?, env name: String, default fallback: T) throws -> T {
        if let flag { return flag }
        guard let raw = environment[name], !raw.isEmpty else { return fallback }
        guard let value = T(raw.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("environment variable \(name)=\"\(raw)\" is not a valid \(T.self)")
        }
        return value
    }

    static func resolve(_ flag: String?, env name: String) -> String? {
        if let flag { return flag }
        guard let raw = environment[name], !raw.isEmpty else { return nil }
        return raw
    }

    static func resolveFlag(_ flag: Bool, env name: String) throws -> Bool {
        if flag { return true }
        guard let raw = environment[name]?.lowercased(), !raw.isEmpty else { return false }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ValidationError("environment variable \(name)=\"\(raw)\" must be true or false")
        }
    }
}

/// Finds the default model bundle: `WARDEN_MODEL`, else `models/minilm-moderation` in the current
/// directory or above the executable (so `.build/release/warden` finds the repository's copy).
enum ModelLocator {
    static let defaultName = "models/minilm-moderation"

    static func defaultModelDirectory() -> String {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        for base in candidates {
            let candidate = base.appendingPathComponent(defaultName)
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("manifest.json").path) {
                return candidate.path
            }
        }
        return defaultName
    }

    /// The repository's `tokenizer/` folder, found like the default model.
    static func defaultTokenizerDirectory() -> String {
        URL(fileURLWithPath: defaultModelDirectory()).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tokenizer").path
    }
}

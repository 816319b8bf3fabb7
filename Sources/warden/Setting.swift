import ArgumentParser
import Foundation
import WardenCore

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

    /// Sets `value` to the flag's value, else the environment variable's; leaves it (the default) otherwise.
    static func override<T: LosslessStringConvertible>(_ value: inout T, with flag: T?, env name: String) throws {
        value = try resolve(flag, env: name, default: value)
    }

    /// ``override(_:with:env:)`` for a duration given in whole milliseconds.
    static func override(_ value: inout Duration, milliseconds flag: Int?, env name: String) throws {
        value = .milliseconds(try resolve(flag, env: name, default: Int(value.milliseconds)))
    }

    /// ``override(_:with:env:)`` for a duration given in milliseconds: finite, not negative.
    static func override(_ value: inout Duration, milliseconds flag: Double?, env name: String, flagName: String) throws {
        value = try resolveMilliseconds(flag, env: name, default: value, flagName: flagName)
    }

    static func resolve(_ flag: String?, env name: String) -> String? {
        if let flag { return flag }
        guard let raw = environment[name], !raw.isEmpty else { return nil }
        return raw
    }

    /// A millisecond duration from a flag or an environment variable: finite, not negative.
    static func resolveMilliseconds(_ flag: Double?, env name: String, default fallback: Duration, flagName: String) throws -> Duration {
        let value = try resolve(flag, env: name, default: fallback.milliseconds)
        guard let duration = Duration.milliseconds(exactly: value) else {
            throw ValidationError("\(flagName) must be a finite number of milliseconds, 0 or more (got \(value))")
        }
        return duration
    }

    /// A timeout in seconds from a flag or an environment variable: finite and positive.
    static func resolveSeconds(_ flag: Double?, env name: String, default fallback: Duration, flagName: String) throws -> Duration {
        let value = try resolve(flag, env: name, default: fallback.seconds)
        guard value > 0, value < 1e6, let duration = Duration.milliseconds(exactly: value * 1000) else {
            throw ValidationError("\(flagName) must be a positive number of seconds (got \(value))")
        }
        return duration
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

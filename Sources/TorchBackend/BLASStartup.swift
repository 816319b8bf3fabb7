import CTorchShim
import Foundation
import Synchronization

/// The fp32 product check of the BLAS kernels in use (see `wt_blas_check_sgemm`).
public enum BLASCheck: Sendable, Equatable, CustomStringConvertible {
    /// Every product agreed with the double-precision reference; the largest error relative to Σ|a·b|.
    case passed(maxError: Double)
    /// A product differed beyond fp32 rounding.
    case wrong(maxError: Double)
    /// The kernels raised SIGILL: this CPU cannot run them.
    case illegalInstruction
    /// No BLAS in the process (nothing to check).
    case unavailable

    /// Whether fp32 products can be trusted (true without BLAS: torch then uses its own kernels).
    public var passed: Bool {
        switch self {
        case .passed, .unavailable: true
        case .wrong, .illegalInstruction: false
        }
    }

    /// One line for logs. It avoids the word "error" in a passing check: log scanners read it as a failure.
    public var description: String {
        switch self {
        case .passed(let deviation): "passed (largest deviation \(String(format: "%.1e", deviation)) of sum |a*b|)"
        case .wrong(let deviation): "FAILED (deviation \(String(format: "%.1e", deviation)) of sum |a*b|)"
        case .illegalInstruction: "FAILED (illegal instruction)"
        case .unavailable: "not run (no BLAS)"
        }
    }

    /// Runs the check now (a few milliseconds).
    static func run() -> BLASCheck {
        var error = 0.0
        switch wt_blas_check_sgemm(&error) {
        case WT_BLAS_CHECK_PASSED: return .passed(maxError: error)
        case WT_BLAS_CHECK_WRONG: return .wrong(maxError: error)
        case WT_BLAS_CHECK_ILLEGAL_INSTRUCTION: return .illegalInstruction
        default: return .unavailable
        }
    }
}

/// What the process's OpenBLAS runs and why, for logs and metrics.
public struct BLASCoreReport: Sendable, Equatable {
    /// How the kernels were chosen.
    public var plan: OpenBLASCorePlan
    /// The core OpenBLAS runs now (`openblas_get_corename`); nil without OpenBLAS.
    public var core: String?
    /// The fp32 product check of those kernels.
    public var check: BLASCheck
    /// A problem to warn about (a failed check, an exec that failed); nil when all is well.
    public var warning: String?

    /// Whether fp32 products can be trusted in this process.
    public var fp32Verified: Bool { check.passed }

    /// The core as a metric label: its name, or "none".
    public var coreLabel: String { core.flatMap { $0.isEmpty ? nil : $0 } ?? "none" }
}

/// Makes OpenBLAS use the right kernels for this CPU, once per process, before the model runtime is used.
///
/// ``prepare()`` (called by `warden` first thing in every command that runs the model) reads the core
/// OpenBLAS reports and the CPU's flags, and when OpenBLAS took the CPU for an older one, sets
/// `OPENBLAS_CORETYPE` and re-executes the process (`/proc/self/exe`, same arguments): OpenBLAS reads the
/// variable only when it loads. The operator's own `OPENBLAS_CORETYPE` always wins. Then it checks fp32
/// products against a double-precision reference; a corrected core that fails is dropped by re-executing
/// once more without it, with a warning. Code that never calls ``prepare()`` (tests, libraries) gets the
/// same report without any re-execution from ``current``.
public enum BLASStartup {
    /// Test hook, never set in production: makes Warden believe OpenBLAS reported this core (e.g.
    /// "Prescott"), to exercise the correction on a machine whose OpenBLAS is right. The process that
    /// Warden re-executes reports the core OpenBLAS really runs.
    public static let reportedCoreTestHook = "WARDEN_TEST_ONLY_OPENBLAS_REPORTED_CORE"
    /// Test hook, never set in production: makes the fp32 check of a core that Warden forced fail, to
    /// exercise the fallback.
    public static let failCheckTestHook = "WARDEN_TEST_ONLY_FAIL_FORCED_CORE_CHECK"

    private static let state = Mutex<BLASCoreReport?>(nil)

    /// Settles the OpenBLAS kernels of this process: may re-execute it (and then does not return). Call it
    /// before anything uses libtorch, in a process whose arguments can be run again.
    @discardableResult
    public static func prepare() -> BLASCoreReport {
        settle(reexecuting: true)
    }

    /// The report of this process: the one ``prepare()`` made, or, when it was not called, one made now
    /// without re-executing (a core that needs correcting is then only reported).
    public static var current: BLASCoreReport { settle(reexecuting: false) }

    private static func settle(reexecuting: Bool) -> BLASCoreReport {
        state.withLock { stored in
            if let stored { return stored }
            let report = decide(reexecuting: reexecuting)
            stored = report
            return report
        }
    }

    private static func decide(reexecuting: Bool) -> BLASCoreReport {
        let environment = ProcessInfo.processInfo.environment
        let real = reportedCore()
        // The hook only changes what the first decision believes, never the core reported afterwards.
        let hook = environment[reportedCoreTestHook].flatMap { $0.isEmpty ? nil : $0 }
        let reported = real == nil ? nil : hook ?? real
        var plan = OpenBLASCorePlan.atStart(flags: cpuFlags(), reportedCore: reported, environment: environment)
        var warning: String?
        if let changes = plan.reexecute, case .warden(let target, let reportedCore) = plan.source {
            if reexecuting {
                warning = reexecute(with: changes)  // returns only when it failed
            } else {
                warning = "OpenBLAS runs \(reportedCore) kernels, older than this CPU supports (\(target)); warden corrects this at start-up"
            }
            plan = OpenBLASCorePlan(source: .openBLAS(reported: reportedCore, reason: "not corrected in this process (\(target) suits the CPU)"))
        }
        var check = BLASCheck.run()
        if case .warden = plan.source, environment[failCheckTestHook] != nil, check.passed {
            check = .wrong(maxError: .infinity)
        }
        let after = plan.afterCheck(passed: check.passed)
        if let changes = after.reexecute, reexecuting {
            warning = reexecute(with: changes)
        }
        if case .reverted(let tried, _) = plan.source {
            warning = warning ?? "the corrected OpenBLAS core \(tried) failed the fp32 check; running OpenBLAS's own choice"
        }
        if !check.passed {
            warning =
                (warning.map { $0 + "; " } ?? "")
                + "fp32 matrix products of the OpenBLAS core \(real ?? "?") disagree with the reference: --precision auto will not use fp32"
        }
        return BLASCoreReport(plan: plan, core: real, check: check, warning: warning)
    }

    /// Applies `changes` to the environment and replaces the process with a new run of the same program
    /// and arguments. Returns only on failure, with the reason.
    private static func reexecute(with changes: [String: String?]) -> String {
        for (name, value) in changes {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        let arguments = CommandLine.arguments
        var pointers = arguments.map { strdup($0) }
        pointers.append(nil)
        execv("/proc/self/exe", &pointers)
        let reason = String(cString: strerror(errno))
        for pointer in pointers { free(pointer) }
        // Leave the environment as it was found, so that a child process decides for itself.
        for name in changes.keys { unsetenv(name) }
        return "re-executing to set OPENBLAS_CORETYPE failed (\(reason)); OpenBLAS keeps its own choice"
    }

    /// `openblas_get_corename()`, nil without OpenBLAS.
    static func reportedCore() -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        let status = buffer.withUnsafeMutableBufferPointer { wt_blas_core_name($0.baseAddress, $0.count) }
        guard status == 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The flags of the first processor in `/proc/cpuinfo` (empty where there is none).
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        return CPUInfo.flags(fromCPUInfo: text)
    }
}

/// Reading `/proc/cpuinfo`.
public enum CPUInfo {
    /// The flags of the first processor listed.
    public static func flags(fromCPUInfo text: String) -> Set<String> {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// The value of `field` (e.g. "model name", "cpu family", "model") for the first processor listed.
    public static func field(_ field: String, fromCPUInfo text: String) -> String? {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].trimmingCharacters(in: .whitespaces) == field {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

import Foundation

/// OpenBLAS's x86-64 kernel sets, ordered by the instruction set they need.
///
/// OpenBLAS (built with DYNAMIC_ARCH, as Debian's is) chooses its kernels once, when it loads, from the
/// CPU's family and model numbers; a CPU newer than the library is taken for an old one (OpenBLAS 0.3.21
/// takes some AVX-512 Xeons for a "Prescott" and runs SSE3 kernels, 4-5x slower). Warden instead derives
/// the newest kernel set from the CPU's feature flags, which do not age with the CPU's name.
public enum OpenBLASKernel: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case prescott, nehalem, sandybridge, haswell, skylakeX, cooperlake, sapphireRapids

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The value of `OPENBLAS_CORETYPE` that selects it.
    public var coreType: String {
        switch self {
        case .prescott: "PRESCOTT"
        case .nehalem: "NEHALEM"
        case .sandybridge: "SANDYBRIDGE"
        case .haswell: "HASWELL"
        case .skylakeX: "SKYLAKEX"
        case .cooperlake: "COOPERLAKE"
        case .sapphireRapids: "SAPPHIRERAPIDS"
        }
    }

    public var description: String { coreType }

    /// The `/proc/cpuinfo` flags its kernels need, including those of the sets below it.
    public var requiredFlags: Set<String> {
        switch self {
        case .prescott: ["sse2", "pni"]  // pni: SSE3
        case .nehalem: Self.prescott.requiredFlags.union(["ssse3", "sse4_1", "sse4_2"])
        case .sandybridge: Self.nehalem.requiredFlags.union(["avx"])
        case .haswell: Self.sandybridge.requiredFlags.union(["avx2", "fma"])
        case .skylakeX: Self.haswell.requiredFlags.union(["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
        case .cooperlake: Self.skylakeX.requiredFlags.union(["avx512_bf16"])
        case .sapphireRapids: Self.cooperlake.requiredFlags.union(["amx_tile", "amx_bf16"])
        }
    }

    /// The newest kernel set whose flags are all in `flags`; nil when not even SSE3 is listed (flags not read).
    public static func newest(supportedBy flags: Set<String>) -> OpenBLASKernel? {
        allCases.last { $0.requiredFlags.isSubset(of: flags) }
    }

    /// The kernel level of a core name that `openblas_get_corename` returns (any x86-64 name of OpenBLAS
    /// 0.3.x, compared without case); nil for a name it does not know.
    public init?(reportedCore name: String) {
        switch name.lowercased().replacingOccurrences(of: " ", with: "") {
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
            "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat":
            self = .prescott
        case "nehalem": self = .nehalem
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": self = .sandybridge
        case "haswell", "zen": self = .haswell
        case "skylakex": self = .skylakeX
        case "cooperlake": self = .cooperlake
        case "sapphirerapids": self = .sapphireRapids
        default: return nil
        }
    }
}

/// How the OpenBLAS kernel set of this process is chosen: the decision Warden takes at start-up, before
/// the model runtime is used, from the CPU's flags, the core OpenBLAS reports and the environment. Pure: the
/// start-up code (``BLASStartup``) reads the inputs, re-executes the process when ``reexecute`` says so, and
/// checks fp32 products afterwards (``afterCheck(passed:)``).
public struct OpenBLASCorePlan: Sendable, Equatable, CustomStringConvertible {
    /// Who chose the kernels this process runs.
    public enum Source: Sendable, Equatable {
        /// The process has no OpenBLAS.
        case noOpenBLAS
        /// OpenBLAS's own choice, kept: it is as new as the CPU's flags allow, or Warden cannot tell.
        case openBLAS(reported: String, reason: String)
        /// The operator's `OPENBLAS_CORETYPE`, which always wins.
        case `operator`(coreType: String)
        /// Warden set `OPENBLAS_CORETYPE` to `coreType` because OpenBLAS reported the older `reported`.
        case warden(coreType: String, reported: String)
        /// Warden's `coreType` failed the fp32 check, so the process runs OpenBLAS's own choice again.
        case reverted(tried: String, reported: String)
    }

    /// The environment variable that records Warden's correction across the re-execution, so that it
    /// happens at most once (twice with a fallback); inherited by child processes, which keep the choice.
    public static let guardVariable = "WARDEN_OPENBLAS_CORE_FIX"
    /// OpenBLAS's own variable, read by the library when it loads.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    public var source: Source
    /// Environment changes (nil removes a variable) to make before re-executing the process; nil when the
    /// process runs on as it is.
    public var reexecute: [String: String?]?

    /// Decides at start-up.
    ///
    /// - Parameters:
    ///   - flags: the CPU's flags as `/proc/cpuinfo` lists them.
    ///   - reportedCore: `openblas_get_corename()`, nil without OpenBLAS.
    ///   - environment: the process's environment.
    public static func atStart(flags: Set<String>, reportedCore: String?, environment: [String: String]) -> OpenBLASCorePlan {
        guard let reportedCore else { return OpenBLASCorePlan(source: .noOpenBLAS) }
        let coreType = environment[coreTypeVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let fix = environment[guardVariable] {
            // Warden already chose in a parent or before re-executing: never again.
            let words = fix.split(separator: " ").map(String.init)
            if words.first == "forced", words.count == 2, let coreType {
                return OpenBLASCorePlan(source: .warden(coreType: coreType, reported: words[1]))
            }
            if words.first == "reverted", words.count == 3 {
                return OpenBLASCorePlan(source: .reverted(tried: words[2], reported: words[1]))
            }
            if let coreType { return OpenBLASCorePlan(source: .operator(coreType: coreType)) }
            return OpenBLASCorePlan(source: .openBLAS(reported: reportedCore, reason: "an earlier start-up already decided"))
        }
        if let coreType { return OpenBLASCorePlan(source: .operator(coreType: coreType)) }
        guard let best = OpenBLASKernel.newest(supportedBy: flags) else {
            return OpenBLASCorePlan(source: .openBLAS(reported: reportedCore, reason: "the CPU's flags could not be read"))
        }
        guard let reported = OpenBLASKernel(reportedCore: reportedCore) else {
            return OpenBLASCorePlan(source: .openBLAS(reported: reportedCore, reason: "Warden does not know the core \(reportedCore)"))
        }
        guard reported < best else {
            return OpenBLASCorePlan(source: .openBLAS(reported: reportedCore, reason: "as new as the CPU's flags allow (\(best.coreType))"))
        }
        return OpenBLASCorePlan(
            source: .warden(coreType: best.coreType, reported: reportedCore),
            reexecute: [coreTypeVariable: best.coreType, guardVariable: "forced \(reportedCore)"])
    }

    /// Decides after the fp32 check of the kernels in use: a core Warden forced that fails it is dropped
    /// (re-execute with OpenBLAS's own choice); any other failure can only be reported.
    public func afterCheck(passed: Bool) -> OpenBLASCorePlan {
        guard !passed, reexecute == nil, case .warden(let coreType, let reported) = source else { return self }
        return OpenBLASCorePlan(
            source: .reverted(tried: coreType, reported: reported),
            reexecute: [Self.coreTypeVariable: nil, Self.guardVariable: "reverted \(reported) \(coreType)"])
    }

    public var description: String {
        switch source {
        case .noOpenBLAS: "no OpenBLAS in this process"
        case .openBLAS(let reported, let reason): "OpenBLAS's choice, \(reported): \(reason)"
        case .operator(let coreType): "OPENBLAS_CORETYPE=\(coreType), set by the operator"
        case .warden(let coreType, let reported):
            "corrected: OPENBLAS_CORETYPE=\(coreType) set by Warden from the CPU's flags (OpenBLAS reported \(reported))"
        case .reverted(let tried, let reported):
            "OpenBLAS's choice, \(reported): the corrected core \(tried) failed the fp32 check and was dropped"
        }
    }
}

import Foundation
import Testing
import TorchBackend

/// The OpenBLAS kernel decision, on given CPU flags, reported cores and environments: no test depends on
/// the CPU that runs it.
@Suite("OpenBLAS core plan")
struct OpenBLASCoreTests {
    static let sse: Set<String> = ["fpu", "sse", "sse2", "pni", "ssse3", "sse4_1", "sse4_2", "popcnt"]
    static let avx2: Set<String> = sse.union(["avx", "avx2", "fma", "f16c", "bmi2"])
    static let avx512: Set<String> = avx2.union(["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"])
    /// An Intel Xeon whose hypervisor hides AMX (family 6, model 207): AVX-512 BF16 and FP16, no amx_*.
    static let xeonAMXHidden: Set<String> = avx512.union(["avx512_bf16", "avx512_fp16", "avx_vnni", "avx512vbmi"])
    static let xeonAMX: Set<String> = xeonAMXHidden.union(["amx_tile", "amx_bf16", "amx_int8"])
    /// An AMD EPYC with AVX-512 BF16 (family 25).
    static let epycBF16: Set<String> = avx512.union(["avx512_bf16", "avx512ifma", "sse4a"])

    @Test("the newest kernel set follows the flags, not the CPU's name")
    func newestKernel() {
        #expect(OpenBLASKernel.newest(supportedBy: []) == nil)
        #expect(OpenBLASKernel.newest(supportedBy: ["sse2", "pni"]) == .prescott)
        #expect(OpenBLASKernel.newest(supportedBy: Self.sse) == .nehalem)
        #expect(OpenBLASKernel.newest(supportedBy: Self.sse.union(["avx"])) == .sandybridge)
        #expect(OpenBLASKernel.newest(supportedBy: Self.avx2) == .haswell)
        #expect(OpenBLASKernel.newest(supportedBy: Self.avx2.subtracting(["fma"])) == .sandybridge, "AVX2 without FMA is not Haswell")
        #expect(OpenBLASKernel.newest(supportedBy: Self.avx512) == .skylakeX)
        #expect(OpenBLASKernel.newest(supportedBy: Self.avx512.subtracting(["avx512vl"])) == .haswell, "all five AVX-512 subsets are needed")
        #expect(OpenBLASKernel.newest(supportedBy: Self.xeonAMXHidden) == .cooperlake)
        #expect(OpenBLASKernel.newest(supportedBy: Self.epycBF16) == .cooperlake)
        #expect(OpenBLASKernel.newest(supportedBy: Self.xeonAMX) == .sapphireRapids)
        #expect(OpenBLASKernel.skylakeX.coreType == "SKYLAKEX")
    }

    @Test("every core name OpenBLAS reports maps to the level of its kernels")
    func reportedNames() {
        #expect(OpenBLASKernel(reportedCore: "Prescott") == .prescott)
        #expect(OpenBLASKernel(reportedCore: "Core2") == .prescott)
        #expect(OpenBLASKernel(reportedCore: "Nehalem") == .nehalem)
        #expect(OpenBLASKernel(reportedCore: "Sandybridge") == .sandybridge)
        #expect(OpenBLASKernel(reportedCore: "Excavator") == .sandybridge)
        #expect(OpenBLASKernel(reportedCore: "Haswell") == .haswell)
        #expect(OpenBLASKernel(reportedCore: "Zen") == .haswell)
        #expect(OpenBLASKernel(reportedCore: "SkylakeX") == .skylakeX)
        #expect(OpenBLASKernel(reportedCore: "skylakex") == .skylakeX)
        #expect(OpenBLASKernel(reportedCore: "Cooperlake") == .cooperlake)
        #expect(OpenBLASKernel(reportedCore: "SapphireRapids") == .sapphireRapids)
        #expect(OpenBLASKernel(reportedCore: "Loongson3A") == nil)
    }

    @Test("a core older than the flags allow is corrected to the newest kernel set they support")
    func corrects() {
        let plan = OpenBLASCorePlan.atStart(flags: Self.avx512, reportedCore: "Prescott", environment: [:])
        #expect(plan.source == .warden(coreType: "SKYLAKEX", reported: "Prescott"))
        #expect(plan.reexecute == ["OPENBLAS_CORETYPE": "SKYLAKEX", OpenBLASCorePlan.guardVariable: "forced Prescott"])

        let hidden = OpenBLASCorePlan.atStart(flags: Self.xeonAMXHidden, reportedCore: "Prescott", environment: ["PATH": "/usr/bin"])
        #expect(hidden.source == .warden(coreType: "COOPERLAKE", reported: "Prescott"))
        let haswell = OpenBLASCorePlan.atStart(flags: Self.avx2, reportedCore: "Nehalem", environment: [:])
        #expect(haswell.source == .warden(coreType: "HASWELL", reported: "Nehalem"))
        #expect(haswell.reexecute?["OPENBLAS_CORETYPE"] == "HASWELL")
        let amx = OpenBLASCorePlan.atStart(flags: Self.xeonAMX, reportedCore: "SkylakeX", environment: [:])
        #expect(amx.source == .warden(coreType: "SAPPHIRERAPIDS", reported: "SkylakeX"))
        let empty = OpenBLASCorePlan.atStart(flags: Self.avx512, reportedCore: "Prescott", environment: ["OPENBLAS_CORETYPE": ""])
        #expect(empty.reexecute != nil, "an empty OPENBLAS_CORETYPE is no choice")
    }

    @Test("a core as new as the flags allow, an unknown core, or unreadable flags are kept")
    func keeps() {
        for (flags, core) in [
            (Self.epycBF16, "Cooperlake"), (Self.avx2, "Haswell"), (Self.avx2, "Zen"), (Self.avx512, "Cooperlake"),
            (Self.avx512, "Loongson3A"), ([], "Prescott"),
        ] {
            let plan = OpenBLASCorePlan.atStart(flags: flags, reportedCore: core, environment: [:])
            #expect(plan.reexecute == nil, "\(core)")
            guard case .openBLAS(let reported, _) = plan.source else {
                Issue.record("\(core): \(plan)")
                continue
            }
            #expect(reported == core)
        }
        #expect(OpenBLASCorePlan.atStart(flags: Self.avx512, reportedCore: nil, environment: [:]).source == .noOpenBLAS)
    }

    @Test("the operator's OPENBLAS_CORETYPE always wins")
    func operatorWins() {
        let plan = OpenBLASCorePlan.atStart(flags: Self.avx512, reportedCore: "Prescott", environment: ["OPENBLAS_CORETYPE": "HASWELL"])
        #expect(plan.source == .operator(coreType: "HASWELL"))
        #expect(plan.reexecute == nil)
        #expect(plan.afterCheck(passed: false).reexecute == nil, "an operator's core that fails the check is reported, not replaced")
    }

    @Test("the guard variable stops a second re-execution, and records what was corrected")
    func atMostOnce() {
        let forced = ["OPENBLAS_CORETYPE": "SKYLAKEX", OpenBLASCorePlan.guardVariable: "forced Prescott"]
        // Whatever OpenBLAS says after the re-execution, Warden does not try again.
        for core in ["SkylakeX", "Prescott"] {
            let plan = OpenBLASCorePlan.atStart(flags: Self.avx512, reportedCore: core, environment: forced)
            #expect(plan.source == .warden(coreType: "SKYLAKEX", reported: "Prescott"))
            #expect(plan.reexecute == nil)
        }
        let reverted = OpenBLASCorePlan.atStart(
            flags: Self.avx512, reportedCore: "Prescott",
            environment: [OpenBLASCorePlan.guardVariable: "reverted Prescott SKYLAKEX"])
        #expect(reverted.source == .reverted(tried: "SKYLAKEX", reported: "Prescott"))
        #expect(reverted.reexecute == nil)
        #expect(reverted.afterCheck(passed: false).reexecute == nil, "no loop after a fallback")
        let garbled = OpenBLASCorePlan.atStart(flags: Self.avx512, reportedCore: "Prescott", environment: [OpenBLASCorePlan.guardVariable: "?"])
        #expect(garbled.reexecute == nil)
    }

    @Test("a corrected core that fails the fp32 check is dropped for OpenBLAS's own choice")
    func fallsBack() {
        let forced = OpenBLASCorePlan.atStart(
            flags: Self.avx512, reportedCore: "SkylakeX",
            environment: ["OPENBLAS_CORETYPE": "SKYLAKEX", OpenBLASCorePlan.guardVariable: "forced Prescott"])
        #expect(forced.afterCheck(passed: true) == forced)
        let fallback = forced.afterCheck(passed: false)
        #expect(fallback.source == .reverted(tried: "SKYLAKEX", reported: "Prescott"))
        let unsetAndRecord: [String: String?] = ["OPENBLAS_CORETYPE": nil, OpenBLASCorePlan.guardVariable: "reverted Prescott SKYLAKEX"]
        #expect(fallback.reexecute == unsetAndRecord)
        let kept = OpenBLASCorePlan.atStart(flags: Self.avx2, reportedCore: "Haswell", environment: [:])
        #expect(kept.afterCheck(passed: false).reexecute == nil, "OpenBLAS's own choice has nothing to fall back to")
    }

    @Test("flags and fields come from the first processor of /proc/cpuinfo")
    func cpuinfo() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            cpu family\t: 25
            model\t\t: 17
            model name\t: AMD EPYC
            flags\t\t: fpu sse2 pni avx2 fma avx512_bf16
            bugs\t\t: sysret_ss_attrs

            processor\t: 1
            flags\t\t: fpu sse2
            """
        #expect(CPUInfo.flags(fromCPUInfo: text) == ["fpu", "sse2", "pni", "avx2", "fma", "avx512_bf16"])
        #expect(CPUInfo.field("cpu family", fromCPUInfo: text) == "25")
        #expect(CPUInfo.field("model", fromCPUInfo: text) == "17")
        #expect(CPUInfo.field("model name", fromCPUInfo: text) == "AMD EPYC")
        #expect(CPUInfo.flags(fromCPUInfo: "") == [])
    }
}

import Foundation
import Testing
import WardenTestSupport

/// The OpenBLAS kernel correction at start-up, as a process: `warden` re-executes itself with
/// `OPENBLAS_CORETYPE` when OpenBLAS reports a core older than the CPU's flags allow. OpenBLAS on the
/// machine that runs the tests may be right, so a test-only variable makes Warden believe it reported a
/// "Prescott"; the process Warden re-executes then reports the core OpenBLAS really runs.
@Suite("OpenBLAS core correction (process level)", .serialized, .timeLimit(.minutes(3)))
struct BLASCoreTests {
    static let reportedCoreHook = "WARDEN_TEST_ONLY_OPENBLAS_REPORTED_CORE"
    static let failCheckHook = "WARDEN_TEST_ONLY_FAIL_FORCED_CORE_CHECK"

    /// `warden score` over two texts in fp32 (so that the products go through OpenBLAS), logging at info.
    static func score(environment: [String: String?], in tmp: borrowing TempFolder) async throws -> (CLI.Outcome, [OutputRecord]) {
        let input = try tmp.write("in.txt", "hello there\nsee you tomorrow\n")
        let output = tmp.path("out-\(UUID().uuidString).jsonl")
        let outcome = try await CLI.run(
            ["score", "--model", CLI.model, "--precision", "fp32", "--log-level", "info", input, "-o", output],
            environment: environment, in: tmp.url, limit: .seconds(120))
        let records = (try? parseJSONLines(Data(contentsOf: URL(fileURLWithPath: output)))) ?? []
        return (outcome, records)
    }

    /// The `blas_core=` value of the runtime log line.
    static func core(_ stderr: String) -> String? {
        stderr.firstMatch(of: /blas_core=(\S+)/).map { String($0.1) }
    }

    static func hasOpenBLAS(_ stderr: String) -> Bool { !stderr.contains("blas_core_choice=no OpenBLAS") }

    @Test("a core older than the CPU supports is corrected by re-executing with OPENBLAS_CORETYPE, and warden works")
    func correctsByReexecuting() async throws {
        #if arch(x86_64)
            let tmp = try TempFolder()
            let (outcome, records) = try await Self.score(environment: [Self.reportedCoreHook: "Prescott", "OPENBLAS_CORETYPE": nil], in: tmp)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(records.count == 2)
            guard Self.hasOpenBLAS(outcome.stderr) else { return }
            // Only the re-executed process, started with Warden's guard variable, says "corrected".
            #expect(outcome.stderr.contains("blas_core_choice=corrected: OPENBLAS_CORETYPE="), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("(OpenBLAS reported Prescott)"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("blas_fp32_check=passed"), "\(outcome.stderr)")
            // The core reported is what OpenBLAS really runs after the re-execution, not the pretended one.
            let core = try #require(Self.core(outcome.stderr))
            #expect(core != "Prescott", "\(outcome.stderr)")
            if let forced = outcome.stderr.firstMatch(of: /OPENBLAS_CORETYPE=([A-Z]+) set by Warden/).map({ String($0.1) }) {
                #expect(core.lowercased() == forced.lowercased(), "OpenBLAS runs the core Warden set: \(outcome.stderr)")
            }
        #endif
    }

    @Test("the operator's OPENBLAS_CORETYPE wins: no correction")
    func operatorWins() async throws {
        let tmp = try TempFolder()
        let (outcome, records) = try await Self.score(environment: [Self.reportedCoreHook: "Prescott", "OPENBLAS_CORETYPE": "HASWELL"], in: tmp)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(records.count == 2)
        guard Self.hasOpenBLAS(outcome.stderr) else { return }
        #expect(outcome.stderr.contains("blas_core_choice=OPENBLAS_CORETYPE=HASWELL, set by the operator"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("corrected"))
    }

    @Test("a corrected core that fails the fp32 check is dropped with a warning, by re-executing once more, and warden works")
    func fallsBack() async throws {
        #if arch(x86_64)
            let tmp = try TempFolder()
            let (plain, _) = try await Self.score(environment: ["OPENBLAS_CORETYPE": nil], in: tmp)
            #expect(plain.status == 0, "\(plain.stderr)")
            guard Self.hasOpenBLAS(plain.stderr), plain.stderr.contains("blas_core_choice=OpenBLAS's choice") else { return }
            let (outcome, records) = try await Self.score(
                environment: [Self.reportedCoreHook: "Prescott", Self.failCheckHook: "1", "OPENBLAS_CORETYPE": nil], in: tmp)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(records.count == 2)
            #expect(outcome.stderr.contains("failed the fp32 check and was dropped"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("warning"), "\(outcome.stderr)")
            // Back on OpenBLAS's own choice: the core a plain start runs.
            #expect(Self.core(outcome.stderr) == Self.core(plain.stderr), "\(outcome.stderr)")
        #endif
    }
}

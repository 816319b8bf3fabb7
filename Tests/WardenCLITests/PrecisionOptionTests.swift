import Foundation
import Testing
import WardenTestSupport

/// `--precision` / `WARDEN_PRECISION` as the commands take them (which precision `auto` picks on a bf16
/// model depends on the CPU, and is tested on given figures in TorchBackendTests).
@Suite("--precision (process level)", .serialized, .timeLimit(.minutes(3)))
struct PrecisionOptionTests {
    @Test("an unknown precision is refused before anything loads")
    func unknown() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("in.txt", "hello\n")
        let outcome = try await CLI.score(["--precision", "int8", input, "-o", tmp.path("out.jsonl")], in: tmp.url)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--precision must be one of auto, bf16, fp32"), "\(outcome.stderr)")
    }

    @Test("auto on a model stored in fp32 takes fp32 without measuring, and logs the plan")
    func autoOnFP32Model() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("in.txt", "hello\nsee you\n")
        let outcome = try await CLI.score(["--log-level", "info", input, "-o", tmp.path("out.jsonl")], in: tmp.url)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("precision=fp32 reason=the model is stored in fp32"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("precision plan"))
    }

    @Test("WARDEN_PRECISION=bf16 on a model stored in fp32 stops start-up with the reason")
    func bf16NeedsABF16Model() async throws {
        let tmp = try TempFolder()
        let input = try tmp.write("in.txt", "hello\n")
        let outcome = try await CLI.score([input, "-o", tmp.path("out.jsonl")], environment: ["WARDEN_PRECISION": "bf16"], in: tmp.url)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("--precision bf16 needs a model stored in bf16"), "\(outcome.stderr)")
    }
}

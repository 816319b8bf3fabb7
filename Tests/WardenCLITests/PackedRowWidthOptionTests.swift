import Foundation
import Testing
import WardenTestSupport

/// `--packed-row-width` / `WARDEN_PACKED_ROW_WIDTH` as the commands take them, on the packed fixture model
/// (which width a batch gets is tested on given cost models in WardenCoreTests).
@Suite("--packed-row-width (process level)", .serialized, .timeLimit(.minutes(3)))
struct PackedRowWidthOptionTests {
    static let packedModel = CLI.fixtures.appendingPathComponent("tiny-bert-packed").path

    static func score(_ args: [String], environment: [String: String?] = [:], in tmp: borrowing TempFolder) async throws -> CLI.Outcome {
        let input = try tmp.write("in.txt", "hello there\nsee you tomorrow\n")
        return try await CLI.run(
            ["score", "--model", packedModel, "--log-level", "info"] + args + [input, "-o", tmp.path("out-\(UUID().uuidString).jsonl")],
            environment: environment, in: tmp.url, limit: .seconds(120))
    }

    /// Whether the engine fitted the cost model at warm-up (the fit logs its model, or why it keeps rows fixed).
    static func fitted(_ stderr: String) -> Bool {
        stderr.contains("packing cost model") || stderr.contains("packed row width stays fixed")
    }

    @Test("an unknown row width is refused before anything loads")
    func unknown() async throws {
        let tmp = try TempFolder()
        let outcome = try await Self.score(["--packed-row-width", "narrow"], in: tmp)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--packed-row-width must be one of fitted, fixed"), "\(outcome.stderr)")
    }

    @Test("by default the row width is fitted at warm-up; fixed, by flag or environment, fits nothing")
    func fittedByDefault() async throws {
        let tmp = try TempFolder()
        let byDefault = try await Self.score([], in: tmp)
        #expect(byDefault.status == 0, "\(byDefault.stderr)")
        #expect(Self.fitted(byDefault.stderr), "\(byDefault.stderr)")
        let byFlag = try await Self.score(["--packed-row-width", "fixed"], in: tmp)
        #expect(byFlag.status == 0, "\(byFlag.stderr)")
        #expect(!Self.fitted(byFlag.stderr), "\(byFlag.stderr)")
        let byEnvironment = try await Self.score([], environment: ["WARDEN_PACKED_ROW_WIDTH": "fixed"], in: tmp)
        #expect(byEnvironment.status == 0, "\(byEnvironment.stderr)")
        #expect(!Self.fitted(byEnvironment.stderr), "\(byEnvironment.stderr)")
    }
}

import Foundation
import Testing
import WardenTestSupport

/// The README's configuration tables quote the defaults that `warden serve --help` and `warden worker --help`
/// take from the configuration types: a default changed in code and not in the README (or the reverse)
/// fails here.
@Suite("README configuration tables match warden serve's and warden worker's help", .timeLimit(.minutes(5)))
struct ReadmeDefaultsTests {
    struct Help: Decodable {
        struct Command: Decodable {
            struct Argument: Decodable { var abstract: String? }
            var arguments: [Argument]
        }
        var command: Command
    }

    /// `env NAME; default VALUE` pairs from the help, by variable name (first word of the value).
    static func helpDefaults(_ command: String = "serve") async throws -> [String: String] {
        let tmp = try TempFolder()
        let outcome = try await CLI.run([command, "--experimental-dump-help"], in: tmp.url)
        #expect(outcome.status == 0)
        let help = try JSONDecoder().decode(Help.self, from: outcome.stdout)
        var defaults: [String: String] = [:]
        let pattern = /env (WARDEN_[A-Z_]+)[^;]*; default ([^ ),;]+)/
        for argument in help.command.arguments {
            if let match = argument.abstract?.firstMatch(of: pattern) { defaults[String(match.1)] = String(match.2) }
        }
        return defaults
    }

    @Test("every default in the README's table is the one the help quotes")
    func defaultsAgree() async throws {
        let serve = try await Self.helpDefaults("serve")
        let worker = try await Self.helpDefaults("worker")
        #expect(serve.count >= 20, "the help quotes defaults: \(serve)")
        #expect(worker.count >= 30, "the worker's help quotes defaults: \(worker)")
        // A variable both commands read has one default.
        for (variable, value) in worker where serve[variable] != nil {
            #expect(serve[variable] == value, "\(variable): serve's help says \(serve[variable] ?? ""), worker's \(value)")
        }
        let help = serve.merging(worker) { first, _ in first }
        let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        var checked = 0
        for line in readme.split(separator: "\n") where line.hasPrefix("| `--") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let variables = cells[2].matches(of: /WARDEN_[A-Z_]+/).map { String($0.output) }
            let values = cells[3].replacingOccurrences(of: "`", with: "").components(separatedBy: ", ")
            for (index, variable) in variables.enumerated() {
                guard let quoted = help[variable] else { continue }  // no default (API keys)
                let value = values.count == variables.count ? values[index] : values[0]
                #expect(value.split(separator: " ").first.map(String.init) == quoted, "\(variable): README says \(value), help says \(quoted)")
                checked += 1
            }
        }
        #expect(checked >= 30, "README rows checked: \(checked)")
        for variable in worker.keys where variable.hasPrefix("WARDEN_NATS_") || variable.hasPrefix("WARDEN_AMQP_") {
            #expect(readme.contains("`\(variable)`"), "README's worker table lacks \(variable)")
        }
    }
}

import Foundation
import Testing
import WardenTestSupport

/// What Warden ships (README, docs, manifests, the model card, help texts and comments in the sources and
/// scripts) speaks of the product: no references to a tracker's issues, to development branches, to folders
/// beside the repository or to paths on one machine.
@Suite struct ShippedTextTests {
    /// Folders and files of the repository that ship, relative to its root.
    static let shipped = [
        "README.md", "Makefile", "Dockerfile", "openapi.yaml", "docs", "deploy", "models", "Sources", "scripts",
        "Examples", "Benchmarks", "Tests/Fixtures", "tokenizer", "Package.swift",
    ]
    /// Text files among them (model weights and data tables are not read).
    static let textExtensions: Set<String> = ["md", "swift", "py", "sh", "yaml", "yml", "json", "toml", "txt", "lua", "c", "h", "cpp", ""]

    static let rules: [(name: String, pattern: String)] = [
        ("an issue reference", #"\b[Ii]ssues? #?[0-9]+\b"#),
        ("a development branch", #"\bbranch(es)? [`'"]?(main|nats|model|norm|fuzz|py|amqp|ops)\b"#),
        ("a folder beside the repository", #"\.\./shared\b"#),
        ("an absolute path on one machine", #"(?<![\w.])/(work|root|home|Users)/[\w.-]"#),
    ]

    static func files() throws -> [URL] {
        var found: [URL] = []
        let manager = FileManager.default
        for entry in shipped {
            let url = TestPaths.root.appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            guard isDirectory.boolValue else {
                found.append(url)
                continue
            }
            let enumerator = manager.enumerator(
                at: url, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey],
                options: [.skipsHiddenFiles])
            while let file = enumerator?.nextObject() as? URL {
                let values = try file.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
                guard values.isRegularFile == true, (values.fileSize ?? 0) < 2 << 20 else { continue }
                // Fixture data (normalisation golden cases, corpora) is text people wrote, not text Warden says.
                if file.path.contains("/Tests/Fixtures/") && file.pathExtension == "jsonl" { continue }
                if file.path.contains("/.venv") || file.path.contains("/__pycache__/") { continue }
                guard textExtensions.contains(file.pathExtension) else { continue }
                found.append(file)
            }
        }
        return found
    }

    @Test("no shipped file names an issue, a development branch, a folder beside the repository or a machine's path")
    func shippedTextSpeaksOfTheProductOnly() throws {
        let files = try Self.files()
        #expect(files.count > 100, "found only \(files.count) shipped text files under \(TestPaths.root.path)")
        let expressions = try Self.rules.map { ($0.name, try NSRegularExpression(pattern: $0.pattern)) }
        var findings: [String] = []
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = String(line)
                for (name, expression) in expressions
                where expression.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                    let relative = file.path.replacingOccurrences(of: TestPaths.root.path + "/", with: "")
                    findings.append("\(relative):\(number + 1): \(name): \(line.trimmingCharacters(in: .whitespaces).prefix(160))")
                }
            }
        }
        #expect(findings.isEmpty, "\(findings.count) findings:\n\(findings.prefix(40).joined(separator: "\n"))")
    }

    @Test("the rules find what they are for")
    func rulesCatchTheirExamples() throws {
        let examples = [
            "as agreed in issue 18", "see Issue #22", "measured on branch `nats`", "read ../shared/data/README.md",
            "--model /work/main/models/x", "cp /root/.cache/x .",
        ]
        let clean = [
            "a branch of the if statement", "issues are tracked elsewhere", "/v1/moderations", "models/minilm/work/x",
            "the main branch of the code path",
        ]
        let expressions = try Self.rules.map { try NSRegularExpression(pattern: $0.pattern) }
        func flagged(_ line: String) -> Bool {
            expressions.contains { $0.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil }
        }
        for line in examples { #expect(flagged(line), "\(line)") }
        for line in clean { #expect(!flagged(line), "\(line)") }
    }
}

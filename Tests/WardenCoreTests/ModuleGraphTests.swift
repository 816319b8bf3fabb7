import Foundation
import Testing
import WardenTestSupport

/// `docs/ARCHITECTURE.md`'s module table says which of Warden's modules each module depends on; this checks
/// it against `Package.swift`, and that the rules the architecture rests on hold.
@Suite struct ModuleGraphTests {
    /// Each target of `Package.swift` with the targets of this package it depends on (products of other
    /// packages left out).
    static func packageGraph() throws -> [String: Set<String>] {
        let manifest = try String(contentsOf: TestPaths.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let target = try NSRegularExpression(
            pattern:
                #"\.(?:target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"(\w+)"(.*?)(?=\n\s*\.(?:target|executableTarget|testTarget|systemLibrary)\(|\n\]|\n\s*\]\s*\)|\z)"#,
            options: [.dotMatchesLineSeparators])
        let product = try NSRegularExpression(pattern: #"\.product\([^)]*\)"#)
        let quoted = try NSRegularExpression(pattern: #""(\w+)""#)
        var graph: [String: Set<String>] = [:]
        let range = NSRange(manifest.startIndex..., in: manifest)
        for match in target.matches(in: manifest, range: range) {
            let name = String(manifest[Range(match.range(at: 1), in: manifest)!])
            var body = String(manifest[Range(match.range(at: 2), in: manifest)!])
            guard let dependencies = body.range(of: "dependencies:") else {
                graph[name] = []
                continue
            }
            body = String(body[dependencies.upperBound...])
            guard let open = body.firstIndex(of: "["), let close = body.firstIndex(of: "]") else {
                graph[name] = []
                continue
            }
            let list = product.stringByReplacingMatches(
                in: String(body[open...close]), range: NSRange(body[open...close].startIndex..., in: body[open...close]), withTemplate: "")
            let names = quoted.matches(in: list, range: NSRange(list.startIndex..., in: list)).map { String(list[Range($0.range(at: 1), in: list)!]) }
            graph[name] = Set(names)
        }
        return graph
    }

    /// The module table of the architecture document: module → the modules of this package it names as
    /// dependencies.
    static func documentedGraph(knownModules: Set<String>) throws -> [String: Set<String>] {
        let text = try String(contentsOf: TestPaths.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        var graph: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, let name = cells[0].split(separator: "`").first.map(String.init), knownModules.contains(name) else { continue }
            let words = cells[cells.count - 1].components(separatedBy: CharacterSet(charactersIn: ", ()")).filter { !$0.isEmpty }
            graph[name] = Set(words.filter { knownModules.contains($0) })
        }
        return graph
    }

    @Test("the architecture document's module table matches Package.swift")
    func documentMatchesPackage() throws {
        let package = try Self.packageGraph()
        #expect(package.count > 20, "read only \(package.count) targets from Package.swift")
        let documented = try Self.documentedGraph(knownModules: Set(package.keys))
        let sources = try FileManager.default.contentsOfDirectory(atPath: TestPaths.root.appendingPathComponent("Sources").path)
            .filter { !$0.hasPrefix(".") }
        for module in sources {
            #expect(documented[module] != nil, "Sources/\(module) is not in the module table")
        }
        for (module, dependencies) in documented {
            let declared = package[module] ?? []
            #expect(
                dependencies == declared,
                "\(module): the document says \(dependencies.sorted()), Package.swift \(declared.sorted())")
        }
    }

    @Test("the engine knows no wire format; only the Torch backend sees the shim; the wire types and the client stay light")
    func dependencyRules() throws {
        let package = try Self.packageGraph()
        func closure(_ module: String) -> Set<String> {
            var seen: Set<String> = []
            var stack = [module]
            while let next = stack.popLast() {
                for dependency in package[next] ?? [] where seen.insert(dependency).inserted { stack.append(dependency) }
            }
            return seen
        }
        #expect(!closure("WardenCore").contains("WardenAPI"))
        #expect(closure("WardenCore").isDisjoint(with: ["WardenServer", "WardenGateway", "TorchBackend", "CTorchShim"]))
        #expect(package.filter { $0.value.contains("CTorchShim") }.keys.sorted() == ["TorchBackend"])
        #expect(package["WardenAPI"] == [])
        #expect(closure("WardenClient") == ["WardenAPI"])
        #expect(package["NATSClient"] == [])
        #expect(package["AMQPClient"] == [])
        for transport in ["WardenServer", "WardenStream", "WardenScore"] {
            #expect(package[transport]?.contains("WardenGateway") == true, "\(transport) reaches the engine through the gateway")
        }
        // No cycle: no module reaches itself.
        for module in package.keys { #expect(!closure(module).contains(module), "\(module) depends on itself") }
        // And the sources agree: no file of the engine imports the wire types.
        let core = TestPaths.root.appendingPathComponent("Sources/WardenCore")
        for file in try FileManager.default.contentsOfDirectory(atPath: core.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: core.appendingPathComponent(file), encoding: .utf8)
            #expect(!text.contains("import WardenAPI"), "Sources/WardenCore/\(file) imports WardenAPI")
        }
    }
}

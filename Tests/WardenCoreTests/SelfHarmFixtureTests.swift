import Foundation
import Testing
import WardenTestSupport

/// The hand-written self-harm contrast set, Tests/Fixtures/selfharm/cases.jsonl: every line well formed,
/// every documented kind well covered and on its side, both sides about equally large, and nothing shared
/// with the functional set. No model is run here.
@Suite("Self-harm contrast set fixture")
struct SelfHarmFixtureTests {
    static let folder = TestPaths.fixture("selfharm")
    static let casesURL = folder.appendingPathComponent("cases.jsonl")

    /// The kinds, as Tests/Fixtures/selfharm/README.md documents them, with the side each one is on.
    static let kinds: [String: Int] = [
        "first_person_intent": 1, "first_person_ongoing": 1, "farewell": 1, "method_seeking": 1,
        "support": 0, "recovery": 0, "prevention_education": 0, "hyperbole_idiom": 0, "third_person_fiction_news": 0,
        "other_violence_benign": 0,
    ]
    static let minimumPerKind = 20
    static let minimumTotal = 300
    /// Each side holds at least this share of the cases.
    static let minimumSideShare = 0.40
    static let members: Set<String> = ["id", "kind", "text", "self_harm", "note"]

    struct SelfHarmCase: Decodable {
        var id: String
        var kind: String
        var text: String
        var selfHarm: Int
        var note: String

        enum CodingKeys: String, CodingKey {
            case id, kind, text, note
            case selfHarm = "self_harm"
        }
    }

    /// The file's non-blank lines with their 1-based line numbers, each checked to be UTF-8.
    static func lines() throws -> [(number: Int, text: String)] { try JSONLinesFixture(url: casesURL).lines() }

    /// Every case, decoded.
    static func cases() throws -> [SelfHarmCase] { try JSONLinesFixture(url: casesURL).cases(SelfHarmCase.self) }

    @Test("every line is one JSON object with exactly the documented members")
    func linesParse() throws {
        let lines = try Self.lines()
        #expect(!lines.isEmpty)
        for line in lines {
            let parsed = try JSONSerialization.jsonObject(with: Data(line.text.utf8))
            let object = try #require(parsed as? [String: Any], "line \(line.number) is not a JSON object")
            #expect(Set(object.keys) == Self.members, "line \(line.number) has members \(object.keys.sorted())")
        }
        #expect(try Self.cases().count == lines.count)
    }

    @Test("ids are unique and start with their kind; texts are unique, trimmed, one line and clean")
    func uniqueness() throws {
        var ids: Set<String> = []
        var texts: Set<String> = []
        for c in try Self.cases() {
            #expect(ids.insert(c.id).inserted, "duplicate id \(c.id)")
            #expect(texts.insert(c.text).inserted, "duplicate text in \(c.id)")
            #expect(c.id.hasPrefix(c.kind + "-"), "\(c.id) does not start with its kind \(c.kind)")
            #expect(!c.text.isEmpty && c.text == c.text.trimmingCharacters(in: .whitespacesAndNewlines), "\(c.id): empty or untrimmed text")
            #expect(
                !c.text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "\u{FFFD}" },
                "\(c.id) has a control character or U+FFFD")
            #expect(c.text.count <= 280, "\(c.id) is not short")
            #expect(!c.note.isEmpty, "\(c.id) has an empty note")
        }
    }

    @Test("every documented kind has at least 20 cases on its side, 300 in all, each side at least 40 %")
    func counts() throws {
        let cases = try Self.cases()
        #expect(cases.count >= Self.minimumTotal, "only \(cases.count) cases")
        let perKind = Dictionary(grouping: cases, by: \.kind).mapValues(\.count)
        #expect(Set(perKind.keys) == Set(Self.kinds.keys), "undocumented kinds: \(Set(perKind.keys).subtracting(Self.kinds.keys).sorted())")
        for kind in Self.kinds.keys {
            #expect(perKind[kind, default: 0] >= Self.minimumPerKind, "\(kind) has \(perKind[kind, default: 0]) cases")
        }
        for c in cases {
            #expect(c.selfHarm == 0 || c.selfHarm == 1, "\(c.id): self_harm is \(c.selfHarm)")
            if let side = Self.kinds[c.kind] { #expect(c.selfHarm == side, "\(c.id): a \(c.kind) case has self_harm \(side)") }
        }
        let positive = Double(cases.filter { $0.selfHarm == 1 }.count) / Double(max(cases.count, 1))
        #expect(positive >= Self.minimumSideShare && 1 - positive >= Self.minimumSideShare, "positive share \(positive)")
    }

    @Test("kept apart from the functional set: no message appears in both")
    func apartFromFunctionalSet() throws {
        let functional = try String(contentsOf: TestPaths.fixture("functional").appendingPathComponent("cases.jsonl"), encoding: .utf8)
        var functionalTexts: Set<String> = []
        for line in functional.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if let text = object?["text"] as? String { functionalTexts.insert(text) }
        }
        #expect(functionalTexts.count >= 1000)
        for c in try Self.cases() { #expect(!functionalTexts.contains(c.text), "\(c.id) is also in the functional set") }
    }

    @Test("the README documents every kind")
    func readme() throws {
        let readme = try String(contentsOf: Self.folder.appendingPathComponent("README.md"), encoding: .utf8)
        for kind in Self.kinds.keys { #expect(readme.contains("`\(kind)`"), "README.md does not document \(kind)") }
    }
}

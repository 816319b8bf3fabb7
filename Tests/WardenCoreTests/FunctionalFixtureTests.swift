import Foundation
import Testing
import WardenTestSupport

/// The hand-written functional test set, Tests/Fixtures/functional/cases.jsonl (scored by
/// scripts/eval/eval_functional.py): every line well formed, every documented kind well covered, and
/// expectations that agree with `hateful`, with each other and with the kind. No model is run here.
@Suite("Functional test set fixture")
struct FunctionalFixtureTests {
    static let folder = TestPaths.fixture("functional")
    static let casesURL = folder.appendingPathComponent("cases.jsonl")

    /// The kinds of case, as Tests/Fixtures/functional/README.md documents them.
    static let kinds = [
        "reclaimed_slur", "counter_speech_quote", "counter_speech_reference", "profanity_nonhateful", "slur_homonym",
        "negated_hate", "abuse_object", "abuse_individual", "implicit_derogation", "explicit_derogation",
        "positive_identity", "identity_neutral", "threat_group", "threat_individual", "obfuscation_spaces",
        "obfuscation_leet", "obfuscation_letters", "obfuscation_homoglyph", "obfuscation_stretch", "benign_trigger",
    ]
    static let minimumPerKind = 24
    static let minimumTotal = 480
    /// Kinds that expect neither `hate` nor `flagged`.
    static let harmlessKinds: Set<String> = [
        "reclaimed_slur", "counter_speech_quote", "counter_speech_reference", "profanity_nonhateful", "slur_homonym",
        "negated_hate", "abuse_object", "positive_identity", "identity_neutral", "benign_trigger",
    ]
    /// Kinds whose every case is hateful.
    static let hatefulKinds: Set<String> = ["implicit_derogation", "explicit_derogation", "threat_group"]
    /// Kinds that are abusive but not hate: flagged 1, hate 0.
    static let abusiveKinds: Set<String> = ["abuse_individual", "threat_individual"]
    static let threatKinds: Set<String> = ["threat_group", "threat_individual"]
    static let targets: Set<String> = [
        "women", "trans people", "gay people", "black people", "disabled people", "muslims", "immigrants", "jews",
    ]
    /// Labels a case may expect: `hate`, `flagged`, the v1 labels and OpenAI moderation categories.
    static let labels: Set<String> = [
        "hate", "flagged", "toxic", "spam", "harassment", "harassment/threatening", "hate/threatening", "violence",
        "violence/graphic", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors",
        "illicit", "illicit/violent",
    ]
    static let requiredMembers: Set<String> = ["id", "kind", "text", "hateful", "expect", "target"]
    static let members: Set<String> = requiredMembers.union(["note"])

    struct FunctionalCase: Decodable {
        var id: String
        var kind: String
        var text: String
        var hateful: Bool
        var expect: [String: Int]
        var target: String?
        var note: String?

        func expects(_ label: String) -> Int { expect[label] ?? 0 }
    }

    /// The file's non-blank lines with their 1-based line numbers, each checked to be UTF-8.
    static func lines() throws -> [(number: Int, text: String)] {
        let data = try Data(contentsOf: casesURL)
        #expect(!data.contains(0x0D), "cases.jsonl has carriage returns; use \\n line ends")
        #expect(!data.starts(with: [0xEF, 0xBB, 0xBF]), "cases.jsonl starts with a byte order mark")
        var result: [(number: Int, text: String)] = []
        for (index, bytes) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !bytes.isEmpty {
            let text = try #require(String(data: Data(bytes), encoding: .utf8), "line \(index + 1) is not UTF-8")
            result.append((number: index + 1, text: text))
        }
        return result
    }

    /// Every case, decoded.
    static func cases() throws -> [FunctionalCase] {
        let decoder = JSONDecoder()
        return try lines().map { line in
            do { return try decoder.decode(FunctionalCase.self, from: Data(line.text.utf8)) } catch {
                Issue.record("line \(line.number): \(error)")
                throw error
            }
        }
    }

    @Test("every line is one JSON object with the documented members, of the documented types")
    func linesParse() throws {
        let lines = try Self.lines()
        #expect(!lines.isEmpty)
        for line in lines {
            let parsed = try JSONSerialization.jsonObject(with: Data(line.text.utf8))
            let object = try #require(parsed as? [String: Any], "line \(line.number) is not a JSON object")
            let keys = Set(object.keys)
            #expect(keys.isSuperset(of: Self.requiredMembers), "line \(line.number) lacks \(Self.requiredMembers.subtracting(keys).sorted())")
            #expect(keys.isSubset(of: Self.members), "line \(line.number) has unknown members \(keys.subtracting(Self.members).sorted())")
        }
        // The types (a boolean `hateful`, integer expectations, a string or null target) are the decoder's to check.
        #expect(try Self.cases().count == lines.count)
    }

    @Test("ids are unique and start with their kind; texts are unique")
    func uniqueness() throws {
        let cases = try Self.cases()
        var ids: Set<String> = []
        var texts: Set<String> = []
        for c in cases {
            #expect(ids.insert(c.id).inserted, "duplicate id \(c.id)")
            #expect(texts.insert(c.text).inserted, "duplicate text in \(c.id)")
            #expect(c.id.hasPrefix(c.kind + "-"), "\(c.id) does not start with its kind \(c.kind)")
        }
    }

    @Test("every documented kind has at least 24 cases, 480 in all, and there is no other kind")
    func counts() throws {
        let cases = try Self.cases()
        #expect(cases.count >= Self.minimumTotal)
        let perKind = Dictionary(grouping: cases, by: \.kind).mapValues(\.count)
        #expect(Set(perKind.keys) == Set(Self.kinds), "undocumented kinds: \(Set(perKind.keys).subtracting(Self.kinds).sorted())")
        for kind in Self.kinds {
            #expect(perKind[kind, default: 0] >= Self.minimumPerKind, "\(kind) has \(perKind[kind, default: 0]) cases")
        }
    }

    @Test("texts are non-empty, trimmed, one line, free of control characters and U+FFFD")
    func texts() throws {
        for c in try Self.cases() {
            let trimmed = c.text.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!trimmed.isEmpty, "\(c.id) has an empty text")
            #expect(trimmed == c.text, "\(c.id) has leading or trailing white space")
            #expect(!c.text.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(c.id) has a control character")
            #expect(!c.text.unicodeScalars.contains("\u{FFFD}"), "\(c.id) has U+FFFD")
            #expect(c.text.count <= 200, "\(c.id) is not short")
        }
    }

    @Test("homoglyph cases hold non-ASCII characters, each named by code point in the note")
    func homoglyphNotes() throws {
        for c in try Self.cases() where c.kind == "obfuscation_homoglyph" {
            let foreign = c.text.unicodeScalars.filter { !$0.isASCII }
            #expect(!foreign.isEmpty, "\(c.id) is plain ASCII")
            let note = c.note ?? ""
            for scalar in Set(foreign.map(\.value)) {
                let hex = String(scalar, radix: 16, uppercase: true)
                let name = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                #expect(note.contains(name), "\(c.id): the note does not name \(name)")
            }
        }
    }

    @Test("expectations agree with `hateful`, with each other and with the kind")
    func expectations() throws {
        for c in try Self.cases() {
            #expect(c.expect["hate"] != nil && c.expect["flagged"] != nil, "\(c.id) lacks expect.hate or expect.flagged")
            #expect(Set(c.expect.keys).isSubset(of: Self.labels), "\(c.id) expects unknown labels \(Set(c.expect.keys).subtracting(Self.labels).sorted())")
            #expect(c.expect.values.allSatisfy { $0 == 0 || $0 == 1 }, "\(c.id) expects a value other than 0 or 1")
            #expect(c.hateful == (c.expects("hate") == 1), "\(c.id): hateful and expect.hate disagree")
            // Anything expected to fire makes the case flagged.
            #expect(c.expect.values.contains(1) == (c.expects("flagged") == 1), "\(c.id): flagged disagrees with the other labels")
            if c.expects("hate/threatening") == 1 { #expect(c.expects("hate") == 1, "\(c.id): hate/threatening without hate") }
            if let target = c.target { #expect(Self.targets.contains(target), "\(c.id) has an undocumented target \(target)") }
            if c.hateful { #expect(c.target != nil, "\(c.id) is hateful but names no target") }

            if Self.harmlessKinds.contains(c.kind) {
                #expect(c.expects("flagged") == 0 && !c.hateful, "\(c.id): a \(c.kind) case expects nothing")
            }
            if Self.hatefulKinds.contains(c.kind) { #expect(c.hateful, "\(c.id): a \(c.kind) case is hateful") }
            if Self.abusiveKinds.contains(c.kind) {
                #expect(!c.hateful && c.expects("flagged") == 1 && c.target == nil, "\(c.id): a \(c.kind) case is flagged, not hate, with no target")
            }
            if Self.threatKinds.contains(c.kind) { #expect(c.expects("violence") == 1, "\(c.id): a threat expects violence") }
            if c.kind == "threat_group" { #expect(c.expects("hate/threatening") == 1, "\(c.id): a group threat expects hate/threatening") }
            if c.kind.hasPrefix("obfuscation_") {
                // Obfuscated hate names a target; an obfuscated plain insult names none and is not hate.
                #expect(c.expects("flagged") == 1 && c.hateful == (c.target != nil), "\(c.id): obfuscation is flagged, hate exactly when it has a target")
            }
        }
    }

    @Test("kinds about identities cover every target")
    func targetBalance() throws {
        let all = try Self.cases()
        for (kind, cases) in Dictionary(grouping: all, by: \.kind) where cases.contains(where: { $0.target != nil }) {
            let perTarget = Dictionary(grouping: cases.compactMap(\.target), by: { $0 }).mapValues(\.count)
            for target in Self.targets {
                #expect(perTarget[target, default: 0] >= 2, "\(kind) has \(perTarget[target, default: 0]) cases about \(target)")
            }
        }
    }

    @Test("the README documents every kind")
    func readme() throws {
        let readme = try String(contentsOf: Self.folder.appendingPathComponent("README.md"), encoding: .utf8)
        for kind in Self.kinds { #expect(readme.contains("`\(kind)`"), "README.md does not document \(kind)") }
    }
}

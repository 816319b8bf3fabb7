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
        "calm_hostility", "derogation_question_opinion", "dehumanisation", "negative_stereotype", "exclusion_call",
        "negated_positive", "profanity_untargeted", "profanity_loanword",
    ]
    static let minimumPerKind = 24
    static let minimumTotal = 1000
    /// The share of hateful cases stays within these bounds, so that neither "always hate" nor "never hate" scores well.
    static let hatefulShare = 0.35...0.55
    /// Kinds that expect neither `hate` nor `flagged`.
    static let harmlessKinds: Set<String> = [
        "reclaimed_slur", "counter_speech_quote", "counter_speech_reference", "profanity_nonhateful", "slur_homonym",
        "negated_hate", "abuse_object", "positive_identity", "identity_neutral", "benign_trigger", "profanity_untargeted",
    ]
    /// Kinds whose every case is hateful.
    static let hatefulKinds: Set<String> = [
        "implicit_derogation", "explicit_derogation", "threat_group", "derogation_question_opinion", "dehumanisation",
        "negative_stereotype", "exclusion_call", "negated_positive",
    ]
    /// Plain statements about a group, written over the extended targets as well as the core ones.
    static let plainHateKinds: Set<String> = [
        "derogation_question_opinion", "dehumanisation", "negative_stereotype", "exclusion_call", "negated_positive",
    ]
    /// Kinds that are abusive but not hate: flagged 1, hate 0.
    static let abusiveKinds: Set<String> = ["abuse_individual", "threat_individual", "calm_hostility"]
    static let threatKinds: Set<String> = ["threat_group", "threat_individual"]
    /// The eight targets every identity kind is balanced over.
    static let coreTargets: Set<String> = [
        "women", "trans people", "gay people", "black people", "disabled people", "muslims", "immigrants", "jews",
    ]
    /// Further groups (gender, sexuality, gender identity, ethnicity, religion, nationality, age), used where they fit.
    static let extendedTargets: Set<String> = [
        "men", "non-binary people", "bisexual people", "asian people", "latino people", "roma", "arabs", "hindus",
        "christians", "sikhs", "mexicans", "poles", "chinese people", "older people", "young people",
    ]
    static let targets = coreTargets.union(extendedTargets)
    /// Swear words that a `calm_hostility` case must not contain (whole words, any case).
    static let swearing =
        #"\b(fuck\w*|shit\w*|damn\w*|bitch\w*|cunt\w*|crap\w*|bastard\w*|dick\w*|piss\w*|prick\w*|twat\w*|wank\w*|arse\w*|ass|asses|asshole\w*|hell|bloody|bollocks)\b"#
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
    static func lines() throws -> [(number: Int, text: String)] { try JSONLinesFixture(url: casesURL).lines() }

    /// Every case, decoded.
    static func cases() throws -> [FunctionalCase] { try JSONLinesFixture(url: casesURL).cases(FunctionalCase.self) }

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

    @Test("every documented kind has at least 24 cases, 1,000 in all, and there is no other kind")
    func counts() throws {
        let cases = try Self.cases()
        #expect(cases.count >= Self.minimumTotal, "only \(cases.count) cases")
        let share = Double(cases.filter(\.hateful).count) / Double(max(cases.count, 1))
        #expect(Self.hatefulShare.contains(share), "hateful share \(share) is outside \(Self.hatefulShare)")
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
            if c.kind == "threat_individual" {
                #expect(c.expects("harassment/threatening") == 1, "\(c.id): a threat to a person expects harassment/threatening")
            }
            if c.kind == "calm_hostility" { #expect(c.expects("harassment") == 1, "\(c.id): calm hostility is harassment") }
            if c.kind == "profanity_untargeted" {
                // Swearing at no one is stated as not harassment, so that a model flagging it shows.
                #expect(c.expect["harassment"] == 0 && c.target == nil, "\(c.id): untargeted swearing expects harassment 0 and names no target")
            }
            if c.kind == "profanity_loanword" {
                // Three shapes: an exclamation (nothing), aimed at a person (harassment), about a group (hate).
                #expect(c.hateful == (c.target != nil), "\(c.id): a loanword case names a target exactly when it is hate")
                if !c.hateful {
                    #expect(c.expect["harassment"] == c.expects("flagged"), "\(c.id): a loanword case not about a group states harassment, equal to flagged")
                }
            }
            if c.kind.hasPrefix("obfuscation_") {
                // Obfuscated hate names a target; an obfuscated plain insult names none and is not hate.
                #expect(c.expects("flagged") == 1 && c.hateful == (c.target != nil), "\(c.id): obfuscation is flagged, hate exactly when it has a target")
            }
        }
    }

    @Test("kinds about identities cover every core target; plain hate and the whole set reach further groups")
    func targetBalance() throws {
        let all = try Self.cases()
        // A kind is about identities when at least half its cases name a target (mixed kinds such as
        // profanity_loanword, with a few cases about a group, are not balanced per target).
        for (kind, cases) in Dictionary(grouping: all, by: \.kind) where 2 * cases.filter({ $0.target != nil }).count >= cases.count {
            let perTarget = Dictionary(grouping: cases.compactMap(\.target), by: { $0 }).mapValues(\.count)
            for target in Self.coreTargets {
                #expect(perTarget[target, default: 0] >= 2, "\(kind) has \(perTarget[target, default: 0]) cases about \(target)")
            }
            if Self.plainHateKinds.contains(kind) {
                let further = Set(cases.compactMap(\.target)).intersection(Self.extendedTargets)
                #expect(further.count >= 12, "\(kind) reaches only \(further.count) groups beyond the core eight")
            }
        }
        for target in Self.targets {
            let about = all.filter { $0.target == target }
            #expect(about.count >= 5, "only \(about.count) cases about \(target)")
            #expect(
                about.contains(where: \.hateful) && about.contains(where: { !$0.hateful }),
                "\(target) needs both hateful and non-hateful cases")
        }
    }

    @Test("calm hostility contains no swear word")
    func calmHostilityHasNoSwearing() throws {
        let expression = try NSRegularExpression(pattern: Self.swearing, options: [.caseInsensitive])
        for c in try Self.cases() where c.kind == "calm_hostility" {
            let range = NSRange(c.text.startIndex..., in: c.text)
            #expect(expression.firstMatch(in: c.text, range: range) == nil, "\(c.id) swears: \(c.text)")
        }
        // The pattern finds what it is for, and leaves words that merely contain a swear word alone.
        for text in ["Fucking hell", "you ass", "what a bloody mess", "Shitty week"] {
            #expect(expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil, "\(text)")
        }
        for text in ["class assignment", "hello there", "scrap the plan", "passage"] {
            #expect(expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil, "\(text)")
        }
    }

    @Test("the README documents every kind")
    func readme() throws {
        let readme = try String(contentsOf: Self.folder.appendingPathComponent("README.md"), encoding: .utf8)
        for kind in Self.kinds { #expect(readme.contains("`\(kind)`"), "README.md does not document \(kind)") }
    }
}

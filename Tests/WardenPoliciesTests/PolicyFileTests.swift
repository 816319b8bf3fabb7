import Testing
import WardenPolicies
import WardenTestSupport

/// Policies files: what a valid one yields, and where a mistake is reported.
@Suite struct PolicyFileTests {
    static let categories = PolicyFile.Categories(labels: ["harassment", "hate", "spam"], aliases: ["insults": "harassment"])

    static let valid = """
        default: community
        policies:
          kids:
            description: Children's server
            action: block
            thresholds:
              harassment: 0.2
              hate: 0.3
            flag: [harassment, hate]
          community:
            action: mask
            thresholds: {insults: 0.6}
        api_keys:
          key-for-kids: kids
        """

    static func parse(_ text: String, path: String = "policies.yaml") throws(PolicyFileError) -> PolicySet {
        try PolicyFile(path: path, categories: categories).parse(text)
    }

    @Test func readsPoliciesInFileOrder() throws {
        let set = try Self.parse(Self.valid)
        #expect(set.policies.map(\.name) == ["kids", "community"])
        let kids = try #require(set.policy(named: "kids"))
        #expect(kids.description == "Children's server")
        #expect(kids.action == .block)
        #expect(kids.thresholds == ["harassment": 0.2, "hate": 0.3])
        #expect(kids.flagging == ["harassment", "hate"])
        #expect(!kids.flags("spam") && kids.flags("hate"))
        let community = try #require(set.policy(named: "community"))
        // An alias (an OpenAI category name) is stored under the model's label.
        #expect(community.thresholds == ["harassment": 0.6])
        #expect(community.action == .mask)
        #expect(community.flagging == nil && community.flags("spam"))
        #expect(set.defaultPolicy == "community")
        #expect(set.keyPolicies == ["key-for-kids": "kids"])
    }

    @Test func readsJSONToo() throws {
        let json = """
            {"policies": {"work": {"action": "hold", "thresholds": {"spam": 0.9}, "flag": ["spam"]}}}
            """
        let set = try Self.parse(json, path: "policies.json")
        #expect(set.policies == [ModerationPolicy(name: "work", thresholds: ["spam": 0.9], flagging: ["spam"], action: .hold)])
        #expect(set.defaultPolicy == nil)
    }

    @Test func selectsTheRequestedThenTheKeysThenTheDefaultPolicy() throws {
        let set = try Self.parse(Self.valid)
        #expect(try set.select(requested: "kids", apiKey: nil)?.name == "kids")
        #expect(try set.select(requested: "community", apiKey: "key-for-kids")?.name == "community")
        #expect(try set.select(requested: nil, apiKey: "key-for-kids")?.name == "kids")
        #expect(try set.select(requested: nil, apiKey: "another-key")?.name == "community")
        #expect(try set.select(requested: nil, apiKey: nil)?.name == "community")
        #expect(throws: UnknownPolicyError(name: "adults", known: ["kids", "community"])) {
            try set.select(requested: "adults", apiKey: nil)
        }
        #expect(try PolicySet().select(requested: nil, apiKey: nil) == nil)
    }

    /// Each mistake: the line it is on and the field it is in.
    @Test(arguments: [
        ("policies:\n  kids:\n    thresholds:\n      toxic: 0.2\n", 4, "policies.kids.thresholds.toxic", "unknown category \"toxic\""),
        ("policies:\n  kids:\n    thresholds:\n      hate: 1.5\n", 4, "policies.kids.thresholds.hate", "from 0 to 1"),
        ("policies:\n  kids:\n    thresholds:\n      hate: -0.1\n", 4, "policies.kids.thresholds.hate", "from 0 to 1"),
        ("policies:\n  kids:\n    thresholds:\n      hate: high\n", 4, "policies.kids.thresholds.hate", "from 0 to 1"),
        ("policies:\n  kids:\n    action: ban\n", 3, "policies.kids.action", "allow, mask, hold, block"),
        ("policies:\n  kids:\n    flag: [hate, gore]\n", 3, "policies.kids.flag", "unknown category \"gore\""),
        ("policies:\n  kids:\n    treshold: {hate: 0.1}\n", 3, "policies.kids.treshold", "not a known field"),
        ("default: adults\npolicies:\n  kids: {}\n", 1, "default", "unknown policy \"adults\""),
        ("policies:\n  kids: {}\napi_keys:\n  k1: adults\n", 4, "api_keys", "unknown policy \"adults\""),
        ("policies: {}\n", 1, "policies", "at least one policy"),
    ])
    func namesTheLineAndTheField(text: String, line: Int, field: String, problem: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.file == "policies.yaml")
            #expect(error.line == line, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.problem.contains(problem), "\(error)")
            #expect(error.description.hasPrefix("policies.yaml:\(line): \(field) "))
        }
    }

    @Test func notYAMLNamesTheLine() {
        do {
            _ = try Self.parse("policies:\n  kids: {action: block\n  other: 1\n")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.problem.contains("not valid YAML or JSON"))
            #expect(error.line != nil)
        }
    }

    @Test func aMissingFileSaysSo() throws {
        let folder = try TempFolder()
        #expect(throws: PolicyFileError.self) {
            _ = try PolicyFile(path: folder.path("absent.yaml"), categories: Self.categories).load()
        }
    }
}

/// The store: reload replaces the policies with a valid file and keeps them with an invalid one.
@Suite struct PolicyStoreTests {
    @Test func reloadReplacesValidAndKeepsOldOnInvalid() throws {
        let folder = try TempFolder()
        let path = try folder.write("policies.yaml", "policies:\n  kids:\n    thresholds: {hate: 0.2}\n")
        let store = try PolicyStore(file: PolicyFile(path: path, categories: PolicyFileTests.categories))
        #expect(store.current.policies.map(\.name) == ["kids"])

        try folder.write("policies.yaml", "policies:\n  kids:\n    thresholds: {hate: 0.4}\n  work:\n    action: hold\n")
        #expect(store.reload())
        #expect(store.current.policies.map(\.name) == ["kids", "work"])
        #expect(store.current.policy(named: "kids")?.thresholds == ["hate": 0.4])

        try folder.write("policies.yaml", "policies:\n  kids:\n    thresholds: {hate: 7}\n")
        #expect(!store.reload())
        #expect(store.current.policies.map(\.name) == ["kids", "work"])
        #expect(store.current.policy(named: "kids")?.thresholds == ["hate": 0.4])
    }

    @Test func aStoreWithoutFileDoesNotReload() {
        let store = PolicyStore(PolicySet(policies: [ModerationPolicy(name: "a")]))
        #expect(!store.reload())
        #expect(store.current.policies.map(\.name) == ["a"])
    }
}

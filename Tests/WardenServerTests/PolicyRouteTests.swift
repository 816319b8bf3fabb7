import Foundation
import Testing
import WardenPolicies
import WardenServer
import WardenTestSupport

/// Policies over HTTP on a real server: listing, choosing by request and by API key, refusing unknown names.
/// The fixture model's scores mean nothing, so the policies use the thresholds 0 (always flags) and 1 (a
/// sigmoid score of the fixture never reaches it) to make the decision certain.
@Suite("Policies on a real server", .serialized, .timeLimit(.minutes(3)))
struct PolicyRouteTests {
    static let policies = """
        policies:
          strict:
            description: Flags everything
            action: block
            thresholds: {toxic: 0, hate: 0, spam: 0}
          only-spam:
            action: hold
            thresholds: {toxic: 0, hate: 0, spam: 0}
            flag: [spam]
          lenient:
            action: mask
            thresholds: {toxic: 1, hate: 1, spam: 1}
        api_keys:
          key-strict: strict
        """

    static func store(_ text: String = policies) throws -> PolicyStore {
        let folder = try TempFolder()
        let path = try folder.write("policies.yaml", text)
        return try PolicyStore(file: PolicyFile(path: path, categories: .init(labels: ["toxic", "hate", "spam"])))
    }

    static func results(_ reply: HTTP.Reply) throws -> [[String: Any]] {
        try #require(try reply.json()["results"] as? [[String: Any]])
    }

    @Test("GET /v1/policies lists each policy with its thresholds and flagging categories")
    func listing() async throws {
        let store = try Self.store()
        try await withWarden(configure: { $0.server.policies = store }) { base in
            let reply = try await HTTP.get(base + "/v1/policies")
            #expect(reply.status == 200)
            let data = try #require(try reply.json()["data"] as? [[String: Any]])
            #expect(data.map { $0["name"] as? String } == ["strict", "only-spam", "lenient"])
            #expect(data[0]["description"] as? String == "Flags everything")
            #expect(data[0]["action"] as? String == "block")
            #expect(data[1]["flagging"] as? [String] == ["spam"])
            #expect(data[2]["flagging"] as? [String] == ["toxic", "hate", "spam"])
            #expect((data[2]["thresholds"] as? [String: Double])?["hate"] == 1)
        }
    }

    @Test("the named policy decides, says so and gives its action")
    func requestChoosesPolicy() async throws {
        let store = try Self.store()
        try await withWarden(configure: { $0.server.policies = store }) { base in
            let strict = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello there", "policy": "strict"}"#)
            #expect(strict.status == 200)
            #expect(try strict.json()["policy"] as? String == "strict")
            let flagged = try Self.results(strict)[0]
            #expect(flagged["flagged"] as? Bool == true)
            #expect(flagged["action"] as? String == "block")
            #expect(flagged["categories"] as? [String: Bool] == ["toxic": true, "hate": true, "spam": true])

            let lenient = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello there", "policy": "lenient"}"#)
            let passed = try Self.results(lenient)[0]
            #expect(passed["flagged"] as? Bool == false)
            #expect(passed["action"] as? String == "allow")

            // The request's own thresholds still override the policy's, label by label.
            let overridden = try await HTTP.post(
                base + "/v1/moderations", json: #"{"input": "hello there", "policy": "lenient", "thresholds": {"hate": 0}}"#)
            #expect(try Self.results(overridden)[0]["categories"] as? [String: Bool] == ["toxic": false, "hate": true, "spam": false])

            // Only the policy's flagging categories flag; the others are still scored.
            let onlySpam = try await HTTP.post(base + "/v1/moderations", json: #"{"input": ["hello there", "bye"], "policy": "only-spam"}"#)
            for result in try Self.results(onlySpam) {
                #expect(result["categories"] as? [String: Bool] == ["toxic": false, "hate": false, "spam": true])
                #expect(result["action"] as? String == "hold")
                #expect((result["category_scores"] as? [String: Double])?.count == 3)
            }

            // Without a policy, and no default one: the model's thresholds, no policy field.
            let plain = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello there"}"#)
            #expect(try plain.json()["policy"] == nil)
            #expect(try Self.results(plain)[0]["action"] == nil)
        }
    }

    @Test("an unknown policy is refused with 400 unknown_policy naming the ones there are")
    func unknownPolicy() async throws {
        let store = try Self.store()
        try await withWarden(configure: { $0.server.policies = store }) { base in
            let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello", "policy": "kids"}"#)
            #expect(reply.status == 400)
            #expect(reply.errorCode == "unknown_policy")
            let error = try #require(try reply.json()["error"] as? [String: Any])
            #expect(error["param"] as? String == "policy")
            #expect((error["message"] as? String)?.contains("strict, only-spam, lenient") == true)
        }
        try await withWarden { base in
            let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello", "policy": "kids"}"#)
            #expect(reply.status == 400)
            #expect(reply.errorCode == "unknown_policy")
            #expect(reply.text.contains("--policies"))
        }
    }

    @Test("an API key's policy applies when the request names none")
    func keyPolicy() async throws {
        let store = try Self.store()
        try await withWarden(configure: {
            $0.server.policies = store
            $0.server.apiKeys = ["key-strict", "key-plain"]
        }) { base in
            let strict = try await HTTP.post(
                base + "/v1/moderations", json: #"{"input": "hello"}"#, headers: [("Authorization", "Bearer key-strict")])
            #expect(try strict.json()["policy"] as? String == "strict")
            let named = try await HTTP.post(
                base + "/v1/moderations", json: #"{"input": "hello", "policy": "lenient"}"#, headers: [("Authorization", "Bearer key-strict")])
            #expect(try named.json()["policy"] as? String == "lenient")
            let plain = try await HTTP.post(
                base + "/v1/moderations", json: #"{"input": "hello"}"#, headers: [("Authorization", "Bearer key-plain")])
            #expect(plain.status == 200)
            #expect(try plain.json()["policy"] == nil)
        }
    }

    @Test("a reload changes the policies of the next requests")
    func reload() async throws {
        let folder = try TempFolder()
        let path = try folder.write("policies.yaml", "policies:\n  gate: {thresholds: {toxic: 1, hate: 1, spam: 1}}\n")
        let store = try PolicyStore(file: PolicyFile(path: path, categories: .init(labels: ["toxic", "hate", "spam"])))
        try await withWarden(configure: { $0.server.policies = store }) { base in
            let before = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello", "policy": "gate"}"#)
            #expect(try Self.results(before)[0]["flagged"] as? Bool == false)
            try folder.write("policies.yaml", "policies:\n  gate: {thresholds: {toxic: 0, hate: 0, spam: 0}}\n")
            #expect(store.reload())
            let after = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello", "policy": "gate"}"#)
            #expect(try Self.results(after)[0]["flagged"] as? Bool == true)
        }
    }
}

import Foundation
import Testing
import WardenTestSupport

/// `warden serve --policies` as a process: start-up validation and reload on SIGHUP.
@Suite("warden serve --policies as a process", .serialized, .timeLimit(.minutes(3)))
struct PolicyProcessTests {
    static func policyNames(_ base: String) async throws -> [String] {
        let reply = try await HTTP.get(base + "/v1/policies")
        let data = try #require(try reply.json()["data"] as? [[String: Any]])
        return data.compactMap { $0["name"] as? String }
    }

    @Test("SIGHUP reloads a valid file and keeps the old policies when the new file is invalid")
    func sighupReloads() async throws {
        let folder = try TempFolder()
        let path = try folder.write("policies.yaml", "policies:\n  kids:\n    thresholds: {toxic: 0.2}\n")
        let server = try await WardenProcess.serve(model: Paths.tinyBert, arguments: ["--policies", path, "--log-level", "info"])
        let base = server.baseURL
        #expect(try await Self.policyNames(base) == ["kids"])

        try folder.write("policies.yaml", "policies:\n  kids:\n    thresholds: {toxic: 0.2}\n  work:\n    action: hold\n")
        server.send(SIGHUP)
        try await waitUntil("the new policies to be listed", timeout: .seconds(30), every: .milliseconds(100)) {
            (try? await Self.policyNames(base)) == ["kids", "work"]
        }

        try folder.write("policies.yaml", "policies:\n  kids:\n    thresholds: {toxic: 3}\n")
        server.send(SIGHUP)
        try await waitUntil("the refusal to be logged", timeout: .seconds(30), every: .milliseconds(100)) {
            server.log.contains("policies not reloaded")
        }
        #expect(server.log.contains("policies.yaml:3: policies.kids.thresholds.toxic is 3"), "\(server.log)")
        #expect(try await Self.policyNames(base) == ["kids", "work"])
        // Still serving after both signals.
        let reply = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "hello", "policy": "work"}"#)
        #expect(reply.status == 200)
        #expect(await server.stop() == 0)
    }

    @Test("an invalid policies file stops the start with the file, the line and the field")
    func invalidFileAtStart() async throws {
        let folder = try TempFolder()
        let path = try folder.write("policies.yaml", "policies:\n  kids:\n    flag: [toxic, gore]\n")
        let server = try launchServe(["--model", Paths.tinyBert], environment: ["WARDEN_POLICIES": path])
        let status = try await server.waitForExit()
        #expect(status != 0)
        #expect(server.standardError.contains("\(path):3: policies.kids.flag names the unknown category \"gore\""), "\(server.log)")
    }
}

import Foundation
import Testing
import WardenGateway
import WardenServer
import Yams

/// A small validator for the JSON Schema subset openapi.yaml uses (type, required, properties,
/// additionalProperties, items, enum, minimum/maximum, minItems/maxItems, oneOf, nullable, $ref).
struct SchemaValidator: @unchecked Sendable {  // read-only after init
    let document: [String: Any]

    func resolve(_ schema: [String: Any]) -> [String: Any] {
        guard let ref = schema["$ref"] as? String else { return schema }
        var node: Any = document
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] as Any }
        return resolve(node as? [String: Any] ?? [:])
    }

    /// Problems found, each with its JSON path; empty when `value` conforms.
    func validate(_ value: Any, against raw: [String: Any], at path: String = "$") -> [String] {
        let schema = resolve(raw)
        if value is NSNull, schema["nullable"] as? Bool == true { return [] }
        if let options = schema["oneOf"] as? [[String: Any]] {
            let matching = options.filter { validate(value, against: $0, at: path).isEmpty }
            return matching.count == 1 ? [] : ["\(path): matches \(matching.count) of oneOf's schemas"]
        }
        var problems: [String] = []
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(path): \(value) not in enum \(allowed)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): expected an object"] }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path): missing \(key)") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, item) in object {
                if let property = properties[key] as? [String: Any] {
                    problems += validate(item, against: property, at: "\(path).\(key)")
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    problems += validate(item, against: additional, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path): unexpected property \(key)")
                }
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): expected an array"] }
            if let min = schema["minItems"] as? Int, array.count < min { problems.append("\(path): fewer than \(min) items") }
            if let max = schema["maxItems"] as? Int, array.count > max { problems.append("\(path): more than \(max) items") }
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in array.enumerated() { problems += validate(item, against: items, at: "\(path)[\(index)]") }
            }
        case "string":
            if !(value is String) { problems.append("\(path): expected a string") }
        case "boolean":
            if !(value is Bool) { problems.append("\(path): expected a boolean") }
        case "integer", "number":
            guard let number = value as? NSNumber else { return ["\(path): expected a number"] }
            if schema["type"] as? String == "integer", number.doubleValue != number.doubleValue.rounded() { problems.append("\(path): expected an integer") }
            if let min = schema["minimum"] as? Double ?? (schema["minimum"] as? Int).map(Double.init), number.doubleValue < min {
                problems.append("\(path): below \(min)")
            }
            if let max = schema["maximum"] as? Double ?? (schema["maximum"] as? Int).map(Double.init), number.doubleValue > max {
                problems.append("\(path): above \(max)")
            }
        default:
            break
        }
        return problems
    }
}

@Suite("openapi.yaml describes the real responses", .serialized, .timeLimit(.minutes(3)))
struct OpenAPITests {
    static func document() throws -> [String: Any] {
        let text = try String(contentsOf: Paths.repository.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    /// The response schema documented for `method path` and `status`.
    static func responseSchema(_ document: [String: Any], _ path: String, _ method: String, _ status: Int) -> [String: Any]? {
        let validator = SchemaValidator(document: document)
        guard let paths = document["paths"] as? [String: Any], let item = paths[path] as? [String: Any],
            let operation = item[method] as? [String: Any], let responses = operation["responses"] as? [String: Any],
            let response = responses[String(status)] as? [String: Any]
        else { return nil }
        let resolved = validator.resolve(response)
        let content = resolved["content"] as? [String: Any]
        return (content?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
    }

    @Test("each endpoint's real answer, success and errors, matches its documented schema")
    func responsesMatch() async throws {
        nonisolated(unsafe) let document = try Self.document()
        let validator = SchemaValidator(document: document)
        let policies = try PolicyRouteTests.store()
        try await withWarden(configure: {
            $0.server.limits.maxInputs = 4
            $0.server.policies = policies
        }) { (base: String) async throws in
            let exchanges: [(String, String, HTTP.Reply)] = [
                ("/healthz", "get", try await HTTP.get(base + "/healthz")),
                ("/readyz", "get", try await HTTP.get(base + "/readyz")),
                ("/v1/models", "get", try await HTTP.get(base + "/v1/models")),
                ("/v1/moderations", "post", try await HTTP.post(base + "/v1/moderations", json: #"{"input": "one text"}"#)),
                (
                    "/v1/moderations", "post",
                    try await HTTP.post(
                        base + "/v1/moderations", json: #"{"input": ["a", "b"], "lane": "bulk", "deadline_ms": 5000, "thresholds": {"spam": 0.2}}"#)
                ),
                ("/v1/moderations", "post", try await HTTP.post(base + "/v1/moderations", json: #"{"input": 3}"#)),
                ("/v1/moderations", "post", try await HTTP.post(base + "/v1/moderations", json: #"{"input": ["a", "b", "c", "d", "e"]}"#)),
                ("/v1/moderations", "post", try await HTTP.post(base + "/v1/moderations", bytes: Data("x".utf8), contentType: "text/plain")),
                (
                    "/v1/moderations", "post",
                    try await HTTP.post(
                        base + "/v1/moderations",
                        json: #"{"input": [{"type": "text", "text": "one"}, {"type": "text", "text": "input"}], "model": "omni-moderation-latest"}"#)
                ),
                (
                    "/v1/moderations", "post",
                    try await HTTP.post(
                        base + "/v1/moderations", json: #"{"input": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}"#)
                ),
                ("/v1/moderate", "post", try await HTTP.post(base + "/v1/moderate", json: #"{"input": "the alias"}"#)),
                ("/v1/policies", "get", try await HTTP.get(base + "/v1/policies")),
                (
                    "/v1/moderations", "post",
                    try await HTTP.post(base + "/v1/moderations", json: #"{"input": "you are awful", "policy": "strict", "explain": true}"#)
                ),
                ("/v1/moderations", "post", try await HTTP.post(base + "/v1/moderations", json: #"{"input": "a", "policy": "nope"}"#)),
            ]
            for (path, method, reply) in exchanges {
                let schema = try #require(Self.responseSchema(document, path, method, reply.status), "\(method) \(path) \(reply.status) is not documented")
                let body = try JSONSerialization.jsonObject(with: reply.body)
                let problems = validator.validate(body, against: schema)
                #expect(problems.isEmpty, "\(method) \(path) \(reply.status): \(problems)")
            }
            // The request examples this test sent conform to the documented request schema too.
            let requestSchema = validator.resolve(["$ref": "#/components/schemas/ModerationRequest"])
            #expect(validator.validate(["input": ["a", "b"], "lane": "bulk", "deadline_ms": 5000], against: requestSchema).isEmpty)
            #expect(!validator.validate(["input": 3], against: requestSchema).isEmpty)
            #expect(validator.validate(["input": [["type": "text", "text": "a"]]], against: requestSchema).isEmpty)
            #expect(validator.validate(["input": "a", "policy": "strict", "explain": true], against: requestSchema).isEmpty)
        }
    }
}

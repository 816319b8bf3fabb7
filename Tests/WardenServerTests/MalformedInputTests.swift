import Foundation
import Testing
import WardenCore
import WardenTestSupport

/// Resident set size of this process in bytes (Linux /proc), the server runs in-process here.
/// Resident memory of process `pid` (default: this one).
func residentBytes(pid: String = "self") -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// At least 200 generated bad request bodies of many kinds.
func malformedBodies() -> [(kind: String, body: Data, contentType: String?)] {
    var random = SplitMix64(seed: 20_261_122)
    var cases: [(String, Data, String?)] = []
    let valid = #"{"input": ["a friendly message", "another one"], "thresholds": {"toxic": 0.5}}"#
    for cut in stride(from: 1, to: valid.utf8.count - 1, by: 2) {
        cases.append(("truncated JSON", Data(valid.utf8.prefix(cut)), "application/json"))
    }
    let wrongTypes = [
        #"{"input": 1}"#, #"{"input": true}"#, #"{"input": null}"#, #"{"input": {"text": "x"}}"#, #"{"input": [1, 2]}"#,
        #"{"input": [["nested"]]}"#, #"{"input": "x", "lane": 5}"#, #"{"input": "x", "deadline_ms": "soon"}"#,
        #"{"input": "x", "thresholds": [0.5]}"#, #"{"input": "x", "thresholds": {"toxic": "high"}}"#, #"[]"#, #""just a string""#,
        #"{"input": "x", "deadline_ms": 1.5}"#, "null", "{}", #"{"inputs": "x"}"#,
    ]
    for body in wrongTypes { cases.append(("wrong type", Data(body.utf8), "application/json")) }
    let numbers = ["1e400", "-1e400", "99999999999999999999999999", "-0", "1e-400", "NaN", "Infinity", "0x10"]
    for number in numbers { cases.append(("huge number", Data(#"{"input": "x", "deadline_ms": \#(number)}"#.utf8), "application/json")) }
    for depth in [100, 600, 5_000, 50_000] {
        cases.append(("deep nesting", Data((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8), "application/json"))
        cases.append(
            (
                "deep nesting in input", Data((#"{"input": "# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8),
                "application/json"
            ))
    }
    let badUTF8: [[UInt8]] = [[0xC3, 0x28], [0xA0, 0xA1], [0xE2, 0x28, 0xA1], [0xF0, 0x28, 0x8C, 0xBC], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80]]
    for bytes in badUTF8 {
        cases.append(("invalid UTF-8", Data(#"{"input": ""#.utf8) + Data(bytes) + Data(#""}"#.utf8), "application/json"))
    }
    for _ in 0..<60 {
        let count = Int.random(in: 1...512, using: &random)
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
        cases.append(("binary body", Data(bytes), "application/json"))
        cases.append(("binary body, octet-stream", Data(bytes), "application/octet-stream"))
    }
    cases.append(("raw NUL in JSON", Data(#"{"input": "a"#.utf8) + Data([0]) + Data(#"b"}"#.utf8), "application/json"))
    cases.append(("NUL only", Data([0, 0, 0, 0]), "application/json"))
    cases.append(("escaped NULs only", Data(#"{"input": "\u0000\u0000"}"#.utf8), "application/json"))
    cases.append(("control characters only", Data(#"{"input": ["ok", "\u0001\u200b\ufffd\u0007"]}"#.utf8), "application/json"))
    cases.append(("lone surrogate escape", Data(#"{"input": "\ud800"}"#.utf8), "application/json"))
    cases.append(("10 MB string", Data((#"{"input": ""# + String(repeating: "A", count: 10 << 20) + #""}"#).utf8), "application/json"))
    cases.append(
        (
            "2 MB of inputs", Data((#"{"input": ["# + Array(repeating: #""spam spam spam spam""#, count: 100_000).joined(separator: ",") + "]}").utf8),
            "application/json"
        ))
    cases.append(("300 inputs", Data((#"{"input": ["# + Array(repeating: #""hi""#, count: 300).joined(separator: ",") + "]}").utf8), "application/json"))
    cases.append(("empty body", Data(), "application/json"))
    cases.append(("no content type", Data(valid.utf8), nil))
    cases.append(("text/plain", Data(valid.utf8), "text/plain"))
    cases.append(("empty array", Data(#"{"input": []}"#.utf8), "application/json"))
    cases.append(("whitespace text", Data(#"{"input": " \n\t "}"#.utf8), "application/json"))
    cases.append(("unknown label", Data(#"{"input": "x", "thresholds": {"sarcasm": 0.5}}"#.utf8), "application/json"))
    cases.append(("negative deadline", Data(#"{"input": "x", "deadline_ms": -5}"#.utf8), "application/json"))
    return cases
}

@Suite("Malformed input", .serialized, .timeLimit(.minutes(3)))
struct MalformedInputTests {
    @Test("every generated bad request gets a 4xx JSON error; the server stays healthy and memory bounded")
    func malformedRun() async throws {
        let bodies = malformedBodies()
        #expect(bodies.count >= 200)
        // A server process of its own: the test process's memory also holds whatever the suites running
        // beside this one load, so only the server's own resident memory says anything.
        try await WardenProcess.with(model: "Tests/Fixtures/tiny-bert") { warden in
            let base = warden.baseURL
            let pid = String(warden.pid)
            let url = base + "/v1/moderations"
            // Warm the allocator, then measure resident memory across the whole run.
            for _ in 0..<3 { _ = try await HTTP.post(url, json: #"{"input": "warm up"}"#) }
            let before = residentBytes(pid: pid)
            for round in 0..<2 {
                for (index, item) in bodies.enumerated() {
                    let reply = try await HTTP.post(url, bytes: item.body, contentType: item.contentType)
                    #expect((400..<500).contains(reply.status), "case \(index) (\(item.kind)), round \(round): HTTP \(reply.status) \(reply.text.prefix(200))")
                    #expect(reply.errorCode != nil, "case \(index) (\(item.kind)): not a JSON error: \(reply.text.prefix(200))")
                }
            }
            let after = residentBytes(pid: pid)
            #expect(try await HTTP.get(base + "/healthz").status == 200)
            #expect(try await HTTP.post(url, json: #"{"input": "still answering"}"#).status == 200)
            // Two rounds of ~250 requests (two 10 MB bodies among them) must not leave more than the body
            // limit's worth of growth per in-flight request behind.
            #expect(after - before < 96 << 20, "resident memory grew by \((after - before) >> 20) MiB")
        }
    }
}

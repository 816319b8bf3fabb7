import Foundation
import Testing
import WardenCore
import WardenTestSupport

/// `"explain": true` on the real default model: the insult is the top span, also when it is obfuscated, and
/// spans are UTF-16 offsets of the text as sent.
@Suite("Explanations on the default model", .serialized, .timeLimit(.minutes(5)))
struct ExplainTests {
    static let lead = "thanks for the help 🙏 café, you are a complete "

    static func explain(_ base: String, _ text: String) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: ["input": text, "explain": true])
        let reply = try await HTTP.post(base + "/v1/moderations", bytes: body)
        #expect(reply.status == 200, "\(reply.text)")
        return try #require((try reply.json()["results"] as? [[String: Any]])?.first)
    }

    /// The span `[start, end)` in UTF-16 code units of `text`.
    static func slice(_ text: String, _ highlight: [String: Any]) throws -> String {
        let start = try #require(highlight["start"] as? Int)
        let end = try #require(highlight["end"] as? Int)
        return String(decoding: Array(text.utf16)[start..<end], as: UTF16.self)
    }

    @Test(
        "the insult is the top span of harassment, plain or obfuscated",
        arguments: ["idiot", "i d i o t", "\u{FF49}\u{FF44}\u{FF49}\u{FF4F}\u{FF54}", "idiooooot", "\u{456}d\u{456}\u{43E}t", "id\u{200B}iot"])
    func insultIsTopSpan(insult: String) async throws {
        let text = Self.lead + insult
        try await withWarden(model: Paths.defaultModel) { base in
            let result = try await Self.explain(base, text)
            #expect((result["categories"] as? [String: Bool])?["harassment"] == true, "\(result)")
            let highlights = try #require(result["highlights"] as? [String: [[String: Any]]])
            let top = try #require(highlights["harassment"]?.first, "\(highlights)")
            #expect(top["text"] as? String == insult)
            #expect(try Self.slice(text, top) == insult)
            #expect(top["start"] as? Int == Self.lead.utf16.count)
            #expect((top["drop"] as? Double ?? 0) > 0.1)
            // Only flagged categories are explained.
            let flagged = Set((result["categories"] as? [String: Bool] ?? [:]).filter(\.value).keys)
            #expect(Set(highlights.keys).isSubset(of: flagged))
        }
    }

    @Test("without explain there are no highlights; a text that is not flagged has none")
    func onlyWhenAskedAndFlagged() async throws {
        try await withWarden(model: Paths.defaultModel) { base in
            let plain = try await HTTP.post(base + "/v1/moderations", json: #"{"input": "you are a complete idiot"}"#)
            #expect(((try plain.json()["results"] as? [[String: Any]])?.first)?["highlights"] == nil)
            #expect(plain.header("Server-Timing")?.contains("explain;dur=") == false)
            let body = try JSONSerialization.data(withJSONObject: ["input": "you are a complete idiot", "explain": true])
            let explained = try await HTTP.post(base + "/v1/moderations", bytes: body)
            #expect(explained.header("Server-Timing")?.contains(", explain;dur=") == true, "\(explained.headers)")
            let calm = try await Self.explain(base, "thanks for the help, see you tomorrow")
            #expect(calm["flagged"] as? Bool == false)
            #expect((calm["highlights"] as? [String: Any])?.isEmpty == true)
            // One word alone: taking it out leaves nothing, which counts as a fall to zero.
            let alone = try await Self.explain(base, "idiot")
            if alone["flagged"] as? Bool == true {
                let highlights = try #require(alone["highlights"] as? [String: [[String: Any]]])
                #expect(highlights.values.allSatisfy { $0.first?["text"] as? String == "idiot" })
            }
        }
    }

    @Test("a text too long for 128 variants in one bulk request is explained by fewer, longer runs, and answered")
    func textTooLongForEveryVariant() async throws {
        let filler = (0..<600).map { ["the", "meeting", "went", "on", "about", "weekend", "plans"][$0 % 7] }.joined(separator: " ")
        let text = filler + " and you are a complete idiot"
        // 606 words are 5 windows of the model (about 640 tokens): 16,384 tokens hold 25 variants, not 128.
        try await withWarden(model: Paths.defaultModel, configure: { $0.engine.batching.bulk.maxRequestTokens = 16_384 }) { base in
            let result = try await Self.explain(base, text)
            #expect((result["categories"] as? [String: Bool])?["harassment"] == true, "\(result)")
            let top = try #require((result["highlights"] as? [String: [[String: Any]]])?["harassment"]?.first, "\(result)")
            let words = (top["text"] as? String)?.split(separator: " ") ?? []
            #expect(words.contains("idiot") && words.count >= 600 / 25, "\(top)")
            #expect(try Self.slice(text, top) == top["text"] as? String)
        }
    }

    @Test("a long text on the interactive lane is explained too: its variants take the lane their cost fits")
    func longTextOnTheInteractiveLane() async throws {
        let filler = (0..<150).map { ["the", "meeting", "went", "on", "about", "weekend", "plans"][$0 % 7] }.joined(separator: " ")
        let text = filler + " and you are a complete idiot"
        try await withWarden(model: Paths.defaultModel) { base in
            let body = try JSONSerialization.data(withJSONObject: ["input": text, "explain": true, "lane": "interactive"])
            let reply = try await HTTP.post(base + "/v1/moderations", bytes: body)
            #expect(reply.status == 200, "\(reply.text)")
            let result = try #require((try reply.json()["results"] as? [[String: Any]])?.first)
            #expect((result["categories"] as? [String: Bool])?["harassment"] == true)
            // 157 words are explained by runs of two: the top run holds the insult.
            let top = try #require((result["highlights"] as? [String: [[String: Any]]])?["harassment"]?.first)
            #expect((top["text"] as? String)?.contains("idiot") == true, "\(top)")
            #expect(try Self.slice(text, top) == top["text"] as? String)
        }
    }
}

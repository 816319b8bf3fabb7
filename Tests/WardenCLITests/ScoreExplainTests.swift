import Foundation
import Testing
import WardenTestSupport

/// `warden score --explain` as a process, with the trained default model: flagged records get the spans
/// that made them flagged, as the API's `explain` gives them.
@Suite("warden score --explain (process level)", .serialized, .timeLimit(.minutes(10)))
struct ScoreExplainTests {
    @Test("flagged records get highlights (UTF-16 spans of the text); others none; CSV output is refused")
    func explains() async throws {
        let tmp = try TempFolder()
        let texts = [
            "thanks for the help, see you tomorrow",
            "thanks for the help 🙏 you are a complete i d i o t",
            "good morning everyone",
            "honestly mate, you are a complete \u{FF49}\u{FF44}\u{FF49}\u{FF4F}\u{FF54}",
        ]
        let input = try tmp.write("chat.txt", texts.joined(separator: "\n") + "\n")
        let out = tmp.path("out.jsonl")
        let run = try await CLI.run(["score", "--model", TestPaths.defaultModel.path, input, "-o", out, "--explain"], in: tmp.url)
        #expect(run.status == 0, "\(run.stderr)")
        let records = try parseJSONLines(file: out)
        #expect(records.count == 4)
        for (record, text) in zip(records, texts) {
            let highlights = record["highlights"] as? [String: [[String: Any]]]
            guard record.flags?["harassment"] == true else {
                #expect(highlights == nil, "\(text)")
                continue
            }
            let top = try #require(highlights?["harassment"]?.first, "\(record.object)")
            let start = try #require(top["start"] as? Int)
            let end = try #require(top["end"] as? Int)
            let span = String(decoding: Array(text.utf16)[start..<end], as: UTF16.self)
            #expect(span == top["text"] as? String)
            #expect(span == "i d i o t" || span == "\u{FF49}\u{FF44}\u{FF49}\u{FF4F}\u{FF54}")
            // Only flagged labels are explained.
            #expect(Set(highlights?.keys.map { $0 } ?? []) == Set((record.flags ?? [:]).filter(\.value).keys))
        }
        #expect(records.filter { $0.flags?["harassment"] == true }.count == 2)

        let csv = try await CLI.run(["score", "--model", TestPaths.defaultModel.path, input, "-o", tmp.path("out.csv"), "--explain"], in: tmp.url)
        #expect(csv.status != 0)
        #expect(csv.stderr.contains("--explain writes highlights into JSON Lines output only"))
    }
}

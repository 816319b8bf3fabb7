import Foundation
import Testing
import WardenTestSupport

@Suite("Hostile JSON against the real server", .timeLimit(.minutes(3)))
struct HostileJSONTests {
    @Test("the 24-byte crash probe and every hostile body get a 4xx naming the field; the server stays up")
    func hostileBodies() async throws {
        try await withWarden { (base: String) async throws in
            for (body, status, code, param) in hostileJSONBodies {
                let reply = try await HTTP.post(base + "/v1/moderations", json: body)
                let shown = String(body.prefix(60))
                #expect(reply.status == status, "\(shown): \(reply.status) \(reply.text.prefix(300))")
                let error = try reply.json()["error"] as? [String: Any]
                #expect(error?["code"] as? String == code, "\(shown): \(reply.text.prefix(300))")
                if let param {
                    #expect(error?["param"] as? String == param, "\(shown): \(reply.text.prefix(300))")
                } else {
                    #expect(error?["param"] is NSNull, "\(shown): \(reply.text.prefix(300))")
                }
                let message = error?["message"] as? String ?? ""
                #expect(message.count < 600, "\(shown): the message stays short (\(message.count) characters)")
            }
            // A surrogate pair, escaped or not, is text like any other.
            let pair = try await HTTP.post(base + "/v1/moderations", json: #"{"input":["\ud83d\ude00 fine", "😀 fine"]}"#)
            #expect(pair.status == 200, "\(pair.text)")
            // Still alive and scoring.
            #expect(try await HTTP.post(base + "/v1/moderations", json: #"{"input":"still here"}"#).status == 200)
        }
    }
}

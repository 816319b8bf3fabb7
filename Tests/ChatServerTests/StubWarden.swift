import Foundation
import Hummingbird
import HummingbirdTesting
import WardenAPI

/// A toy Warden on a real loopback port, for checking the chat server's own logic quickly (see
/// `ChatEndToEndTests` for the same scenario against the real Warden and model): `toxic` when a text contains
/// "idiot". Only the request/response shape of `POST /v1/moderate` is imitated.
enum StubWarden {
    static func buildApplication() -> some ApplicationProtocol {
        let router = Router()
        router.post("/v1/moderate") { request, context -> Response in
            let body = try await request.decode(as: ModerationRequest.self, context: context)
            let results = body.input.texts.map { text -> ModerationResult in
                let toxic: Float = text.lowercased().contains("idiot") ? 0.97 : 0.02
                let scores = ["toxic": toxic, "hate": 0.01, "spam": 0.01]
                let flags = scores.mapValues { $0 >= (body.thresholds?["toxic"] ?? 0.5) }
                return ModerationResult(flagged: flags.values.contains(true), categories: flags, categoryScores: scores)
            }
            let data = try JSONEncoder().encode(ModerationResponse(id: "modr-stub", model: "stub", results: results))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }
}

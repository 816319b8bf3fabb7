import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import WardenAPI
import WardenClient

/// Builds the chat server: rooms over WebSocket at `/rooms/{room}/ws?user=NAME`, every message screened by Warden
/// on the interactive lane before broadcast, `POST /rooms/{room}/rescore` to re-score a room's history on the bulk
/// lane, and `GET /healthz`.
///
/// Tests call this too, with `port: 0`, and run it with HummingbirdTesting's `.live` mode or `runService()`.
public func buildChatApplication(configuration: ChatConfiguration) -> some ApplicationProtocol {
    var logger = Logger(label: "chat-server")
    logger.logLevel = configuration.logLevel
    var wardenConfiguration = configuration.warden
    wardenConfiguration.logger = logger
    let warden = WardenClient(configuration: wardenConfiguration)
    let rooms = ChatRooms(historyLimit: configuration.historyLimit)

    let router = Router(context: BasicWebSocketRequestContext.self)
    router.get("/healthz") { _, _ in HTTPResponse.Status.ok }
    router.post("/rooms/{room}/rescore") { request, context -> RescoreResponse in
        let room = try context.parameters.require("room")
        var thresholds: [String: Float]?
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            thresholds = try await request.decode(as: RescoreRequest.self, context: context).thresholds
        }
        return try await rescore(room: room, thresholds: thresholds, rooms: rooms, warden: warden)
    }
    router.ws("/rooms/{room}/ws") { _, context in
        guard let room = context.parameters.get("room"), ChatSession.isValidName(room) else { return .dontUpgrade }
        return .upgrade([:])
    } onUpgrade: { inbound, outbound, context in
        let room = context.requestContext.parameters.get("room") ?? "lobby"
        let user = context.request.uri.queryParameters.get("user").flatMap { ChatSession.isValidName($0) ? $0 : nil } ?? "anonymous"
        let session = ChatSession(
            room: room, user: user, rooms: rooms, warden: warden,
            maxMessageBytes: configuration.maxMessageBytes, logger: context.logger,
            options: configuration.messageOptions, onFlagged: configuration.onFlagged)
        try await session.run(inbound: inbound, outbound: outbound)
    }

    return Application(
        router: router,
        server: .http1WebSocketUpgrade(webSocketRouter: router),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "chat-server"),
        logger: logger
    )
}

/// Re-scores a room's history on the bulk lane and returns a verdict per message.
private func rescore(room: String, thresholds: [String: Float]?, rooms: ChatRooms, warden: WardenClient) async throws -> RescoreResponse {
    let history = await rooms.history(room: room)
    let results: [ModerationResult]
    do {
        results = try await warden.moderate(history.map(\.text), options: .init(lane: .bulk, thresholds: thresholds))
    } catch {
        let status: HTTPResponse.Status = error.code == .badRequest ? .badRequest : .badGateway
        throw HTTPError(status, message: "Re-scoring failed: \(error.message)")
    }
    let items = zip(history, results).map { entry, result in
        RescoreResponse.Item(
            id: entry.id, user: entry.user, text: entry.text, flagged: result.flagged,
            labels: result.flaggedLabels, scores: result.categoryScores, wasUnscored: entry.unscored)
    }
    return RescoreResponse(room: room, results: items)
}

extension RescoreResponse: ResponseEncodable {}

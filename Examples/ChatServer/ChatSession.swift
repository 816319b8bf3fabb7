import Foundation
import HummingbirdWebSocket
import Logging
import NIOFoundationCompat
import WardenAPI
import WardenClient

/// One client's WebSocket connection to a room: reads its messages in order, screens each one with Warden,
/// then broadcasts it, tells the sender why it was not delivered, or reports a malformed message.
struct ChatSession: Sendable {
    let room: String
    let user: String
    let rooms: ChatRooms
    let warden: WardenClient
    let maxMessageBytes: Int
    let logger: Logger
    /// Options of each message's Warden call (lane, policy, explain).
    var options: WardenClient.ModerationOptions = .interactive
    /// What to do with a flagged message.
    var onFlagged: FlaggedMessageAction = .block

    /// Room and user names: 1–64 letters, digits, `-`, `_` or `.`.
    static func isValidName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let member = await rooms.join(room: room, user: user, outbound: outbound)
        do {
            try await send(ServerEvent(type: "joined", room: room, user: user), to: outbound)
            for try await frame in inbound.messages(maxSize: maxMessageBytes) {
                try await handle(frame, outbound: outbound)
            }
        } catch {
            await rooms.leave(room: room, member: member)
            throw error
        }
        await rooms.leave(room: room, member: member)
    }

    private func handle(_ frame: WebSocketMessage, outbound: WebSocketOutboundWriter) async throws {
        let data: Data
        switch frame {
        case .text(let string): data = Data(string.utf8)
        case .binary(let buffer): data = Data(buffer: buffer)
        }
        guard let message = try? JSONDecoder().decode(ClientMessage.self, from: data) else {
            try await send(ServerEvent(type: "error", room: room, message: #"Send JSON like {"text": "hello"}."#), to: outbound)
            return
        }
        let sender = message.user.flatMap { Self.isValidName($0) ? $0 : nil } ?? user
        guard !message.text.isEmpty else {
            try await send(ServerEvent(type: "error", room: room, message: "Empty messages are not sent."), to: outbound)
            return
        }

        let verdict = await warden.screen(message.text, options: options)
        switch verdict {
        case .allow(let result):
            // A partly scored message is logged and reported by WardenClient (onEvent); it is marked for the room too.
            if result.isPartlyScored {
                logger.notice(
                    "Message delivered, scored in part",
                    metadata: [
                        "room": "\(room)", "user": "\(sender)", "windows": "\(result.windows.map(String.init) ?? "?")",
                    ])
            }
            await broadcast(user: sender, text: message.text, unscored: false, truncated: result.isPartlyScored)
        case .block(let result) where shouldMask(result):
            let masked = result.masked(message.text)
            logger.info(
                "Message masked",
                metadata: [
                    "room": "\(room)", "user": "\(sender)", "labels": "\(result.flaggedLabels)",
                    "spans": "\(result.flaggedHighlights.map { "[\($0.start),\($0.end)) \($0.text)" })",
                ])
            await broadcast(user: sender, text: masked, unscored: false, masked: true)
        case .block(let result):
            let labels = result.flaggedLabels
            logger.info("Message blocked", metadata: ["room": "\(room)", "user": "\(sender)", "labels": "\(labels)"])
            try await send(
                ServerEvent(
                    type: "notice", room: room, user: sender, text: message.text, reason: "flagged", labels: labels,
                    message: "Your message was not delivered: it was flagged as \(labels.joined(separator: ", "))."
                ), to: outbound)
        case .unscored(let reason, let policy):
            switch policy {
            case .failOpen:
                // Reported by WardenClient (warning log + onEvent); delivered and marked, re-scorable later.
                await broadcast(user: sender, text: message.text, unscored: true)
            case .failClosed where reason.code == .partlyScored:
                try await send(
                    ServerEvent(
                        type: "notice", room: room, user: sender, text: message.text, reason: "too_long_to_check",
                        message: "Your message was not delivered: it is too long to be checked in full. Send it in shorter parts."
                    ), to: outbound)
            case .failClosed:
                try await send(
                    ServerEvent(
                        type: "notice", room: room, user: sender, text: message.text, reason: "moderation_unavailable",
                        message: "Your message was not delivered: moderation is unavailable (\(reason.code)). Try again shortly."
                    ), to: outbound)
            }
        }
    }

    /// Whether a flagged message is delivered masked: masking is on (here or in Warden's policy) and Warden
    /// pointed at the words to mask.
    private func shouldMask(_ result: ModerationResult) -> Bool {
        (onFlagged == .mask || result.action == "mask") && !result.flaggedHighlights.isEmpty
    }

    private func broadcast(user: String, text: String, unscored: Bool, truncated: Bool = false, masked: Bool = false) async {
        let (entry, writers) = await rooms.deliver(room: room, user: user, text: text, unscored: unscored)
        let event = ServerEvent(
            type: "message", room: room, user: entry.user, text: entry.text, id: entry.id,
            unscored: unscored ? true : nil, truncated: truncated ? true : nil, masked: masked ? true : nil)
        for writer in writers {
            // A member that went away is removed when its own session ends; ignore its write failure here.
            try? await send(event, to: writer)
        }
    }

    private func send(_ event: ServerEvent, to writer: WebSocketOutboundWriter) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(event), as: UTF8.self)
        try await writer.write(.text(json))
    }
}

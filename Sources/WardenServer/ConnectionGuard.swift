import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization
import WardenAPI
import WardenCore
import WardenGateway

/// Open connections of one server, shared by every connection's ``ConnectionGuardHandler``.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Connections open now.
    var count: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection; returns whether it is within the limit.
    func opened() -> Bool { open.wrappingAdd(1, ordering: .relaxed).newValue <= limit }

    func closed() { open.wrappingSubtract(1, ordering: .relaxed) }
}

/// Bounds what one slow or surplus client can hold, on each connection's pipeline (after HTTP decoding):
/// - **connection cap**: past ``ConnectionCounter/limit`` open connections, the next request is answered 503
///   `too_many_connections` with `Retry-After` and the connection closed, instead of the client hanging in the
///   accept backlog;
/// - **body deadline**: a request whose body has not fully arrived within `bodyTimeout` of its head is
///   closed (the idle timer restarts on every chunk, so a client sending a byte every few seconds would
///   otherwise hold its connection and buffer for ever);
/// - **declared size**: a request whose `Content-Length` is over `maxBodyBytes` is answered 413
///   `body_too_large` from its head alone and the connection closed, so the body is never waited for.
///   (A body without a length is bounded while it is read, by the route.)
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let bodyTimeout: TimeAmount
    private let maxBodyBytes: Int
    private var counted = false
    private var refusing = false
    private var deadline: Scheduled<Void>?

    init(counter: ConnectionCounter, bodyTimeout: TimeAmount, maxBodyBytes: Int) {
        self.counter = counter
        self.bodyTimeout = bodyTimeout
        self.maxBodyBytes = maxBodyBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        refusing = !counter.opened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if counted { counter.closed() }
        counted = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if refusing {
            if case .head = part { refuse(context: context, status: .serviceUnavailable, fault: .tooManyConnections) }
            return
        }
        switch part {
        case .head(let head):
            // Any declared length over the limit (10^18 included, or a number too large for an Int) is refused
            // now; a malformed one is the HTTP parser's to refuse.
            if let declared = head.headerFields[.contentLength], declared.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
               !declared.isEmpty, Int(declared).map({ $0 > maxBodyBytes }) ?? true {
                refusing = true
                refuse(context: context, status: .contentTooLarge, fault: .bodyTooLarge(limit: maxBodyBytes))
                return
            }
            deadline?.cancel()
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: bodyTimeout) {
                // The body did not arrive in time: close; the route's body read fails and nothing is scored.
                context.close(promise: nil)
            }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client hung up: what it is waiting for is cancelled.
            ClientDisconnect.watch(context.channel).close()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    /// Answers `fault` from this handler (the request never reaches the router) and closes the connection.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponse.Status, fault: ModerationFault) {
        refusing = true
        let encoded = (try? JSONEncoder.warden.encode(fault.body)) ?? Data()
        let body = ByteBuffer(bytes: encoded)
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/json; charset=utf-8"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        if let retryAfter = fault.retryAfter { head.headerFields[.retryAfter] = String(max(1, Int(retryAfter.seconds.rounded(.up)))) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

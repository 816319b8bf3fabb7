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
///   `body_too_large` from its head alone, before any of the body is stored. A body of up to
///   ``drainFactor`` times the limit is then read and thrown away, so that the connection stays usable (a
///   pooled client reuses it); a larger one (10^18 bytes, say) is answered with `Connection: close` and the
///   connection closed after ``lingerTime`` at the most, so nobody holds it open for long. (A body without
///   a length is bounded while it is read, by the route.)
///
/// A connection refused by the cap is closed once the client has sent the rest of its request, or after
/// ``lingerTime`` (2 s) at the most: a client still writing its body can read the answer instead of failing
/// on a reset connection.
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
    /// Whether the refusal has been written (what arrives after it is discarded until the close).
    private var answered = false
    private var linger: Scheduled<Void>?
    /// How long a refused connection stays open for the client to finish sending.
    static let lingerTime: TimeAmount = .seconds(2)
    /// A refused body up to this many times the limit is read and discarded to keep the connection.
    static let drainFactor = 16
    /// Discarding the body of a request refused from its head; the connection is kept once it has arrived.
    private var discarding = false

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
        linger?.cancel()
        linger = nil
        if counted { counter.closed() }
        counted = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if refusing {
            switch part {
            case .head where !answered: refuse(context: context, status: .serviceUnavailable, fault: .tooManyConnections)
            case .end where answered: context.close(promise: nil)  // the client sent all it had: close now
            default: break
            }
            return
        }
        if discarding {
            if case .end = part {
                discarding = false
                deadline?.cancel()
                deadline = nil
            }
            return
        }
        switch part {
        case .head(let head):
            // Any declared length over the limit (10^18 included, or a number too large for an Int) is refused
            // now; a malformed one is the HTTP parser's to refuse.
            if let declared = head.headerFields[.contentLength], declared.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                !declared.isEmpty, Int(declared).map({ $0 > maxBodyBytes }) ?? true
            {
                if let length = Int(declared), length <= maxBodyBytes * Self.drainFactor {
                    discarding = true
                    armBodyDeadline(context: context)
                    respond(context: context, status: .contentTooLarge, fault: .bodyTooLarge(limit: maxBodyBytes), close: false)
                } else {
                    refusing = true
                    refuse(context: context, status: .contentTooLarge, fault: .bodyTooLarge(limit: maxBodyBytes))
                }
                return
            }
            armBodyDeadline(context: context)
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

    /// Closes the connection if the current request's body has not fully arrived within `bodyTimeout`.
    private func armBodyDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: bodyTimeout) {
            // The body did not arrive in time: close; the route's body read fails and nothing is scored.
            context.close(promise: nil)
        }
    }

    /// Answers `fault` from this handler (the request never reaches the router) and closes the connection
    /// once the client has sent the rest of its request, or after ``lingerTime``.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponse.Status, fault: ModerationFault) {
        refusing = true
        respond(context: context, status: status, fault: fault, close: true)
        linger = context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) { context.close(promise: nil) }
    }

    /// Writes `fault` as the response to the current request, with `Connection: close` when `close` is set.
    private func respond(context: ChannelHandlerContext, status: HTTPResponse.Status, fault: ModerationFault, close: Bool) {
        let encoded = (try? JSONEncoder.warden.encode(fault.body)) ?? Data()
        let body = ByteBuffer(bytes: encoded)
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/json; charset=utf-8"
        head.headerFields[.contentLength] = String(body.readableBytes)
        if close { head.headerFields[.connection] = "close" }
        if let retryAfter = fault.retryAfter { head.headerFields[.retryAfter] = String(max(1, Int(retryAfter.seconds.rounded(.up)))) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        if close { answered = true }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

}

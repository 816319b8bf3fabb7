import NIOCore
import NIOPosix
import Testing

@testable import AMQPClient

/// A fake broker on a loopback port: after the client's protocol header it sends scripted bytes (and hangs up
/// when told), for what no real broker does.
final class FakeBroker: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    private final class Script: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let reply: [UInt8]
        let hangUp: Bool
        init(reply: [UInt8], hangUp: Bool) {
            self.reply = reply
            self.hangUp = hangUp
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // Each read from the client (the protocol header first) gets the script once; later reads nothing.
            guard context.channel.isActive else { return }
            let bytes = reply
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            if hangUp { context.close(promise: nil) }
        }
    }

    init(reply: [UInt8], hangUp: Bool) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Script(reply: reply, hangUp: hangUp)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    static func frame(_ kind: UInt8, channel: UInt16 = 0, payload: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(kind)
        buffer.writeInteger(channel)
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        buffer.writeInteger(UInt8(0xCE))
        return Array(buffer.readableBytesView)
    }

    static func method(_ method: AMQPMethod) throws -> [UInt8] {
        var payload = ByteBuffer()
        try method.encode(into: &payload)
        return frame(1, payload: Array(payload.readableBytesView))
    }
}

/// Malformed input from the broker's side: each is a typed error from `connect`, and no crash.
@Suite(.timeLimit(.minutes(1))) struct FakeBrokerTests {
    func connect(reply: [UInt8], hangUp: Bool) async throws -> AMQPError? {
        let broker = try await FakeBroker(reply: reply, hangUp: hangUp)
        defer { Task { await broker.stop() } }
        do {
            let connection = try await AMQPConnection.connect(AMQPConfiguration(port: broker.port, connectTimeout: .seconds(5)))
            await connection.close()
            return nil
        } catch let error as AMQPError {
            return error
        }
    }

    @Test func aTruncatedFrameThenHangUpIsMalformed() async throws {
        let start = try FakeBroker.method(
            .connectionStart(
                versionMajor: 0, versionMinor: 9, serverProperties: [:],
                mechanisms: Array("PLAIN".utf8), locales: Array("en_US".utf8)))
        let error = try await connect(reply: Array(start.prefix(start.count - 5)), hangUp: true)
        #expect(error == .malformedFrame("the stream ended inside a frame (\(start.count - 5) bytes left)"))
    }

    @Test func anOversizedFrameIsRefused() async throws {
        var header: [UInt8] = [1, 0, 0]
        header += [0x7F, 0xFF, 0xFF, 0xFF]
        let error = try await connect(reply: header, hangUp: false)
        #expect(error == .frameTooLarge(size: 0x7FFF_FFFF + 8, limit: 131_072))
    }

    @Test func anUnknownMethodIsRefused() async throws {
        let error = try await connect(reply: FakeBroker.frame(1, payload: [0, 77, 0, 7]), hangUp: false)
        #expect(error == .unknownMethod(classID: 77, methodID: 7))
    }

    @Test func aBrokerOfAnotherVersionSaysSo() async throws {
        let error = try await connect(reply: [0x41, 0x4D, 0x51, 0x50, 0, 0, 9, 0], hangUp: true)
        #expect(error == .unsupportedProtocol("AMQP 0 0 9 0"))
    }

    @Test func nothingListeningIsAConnectionFailure() async throws {
        let broker = try await FakeBroker(reply: [], hangUp: true)
        let port = broker.port
        await broker.stop()
        await #expect(throws: AMQPError.self) { try await AMQPConnection.connect(AMQPConfiguration(port: port, connectTimeout: .seconds(2))) }
    }
}

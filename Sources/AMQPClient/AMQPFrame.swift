import NIOCore

/// One AMQP 0-9-1 frame: a type, a channel and a payload (the 7-byte header and the frame-end octet are the
/// codec's business).
public struct AMQPFrame: Sendable, Equatable {
    /// The frame types of AMQP 0-9-1.
    public enum Kind: UInt8, Sendable {
        case method = 1
        case header = 2
        case body = 3
        case heartbeat = 8
    }

    public var kind: Kind
    public var channel: UInt16
    public var payload: ByteBuffer

    public init(kind: Kind, channel: UInt16, payload: ByteBuffer) {
        self.kind = kind
        self.channel = channel
        self.payload = payload
    }

    /// Bytes of framing around a payload: type (1), channel (2), size (4) and the frame end (1).
    public static let overhead = 8
    /// The octet every frame ends with.
    public static let frameEnd: UInt8 = 0xCE
    /// The smallest `frame_max` a peer may propose (AMQP 0-9-1, 4.2.3); every handshake frame fits in it.
    public static let minimumFrameMax = 4096
    /// What a client sends first: `AMQP` 0 0 9 1.
    public static let protocolHeader: [UInt8] = [0x41, 0x4D, 0x51, 0x50, 0, 0, 9, 1]

    /// The frame on the wire.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(channel)
        buffer.writeInteger(UInt32(payload.readableBytes))
        var payload = payload
        buffer.writeBuffer(&payload)
        buffer.writeInteger(Self.frameEnd)
    }

    /// A heartbeat frame (channel 0, empty).
    public static func heartbeat(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> AMQPFrame {
        AMQPFrame(kind: .heartbeat, channel: 0, payload: allocator.buffer(capacity: 0))
    }
}

/// Splits the byte stream from the broker into ``AMQPFrame``s.
///
/// The size in a frame's header is checked against `maxFrameSize` (this client's `frame_max`, which the
/// tuned value never exceeds) before anything is buffered for it, so a hostile or broken peer cannot make the
/// client hold more than one frame's worth. A frame of an unknown type, a missing frame end, a heartbeat off
/// channel 0, bytes cut off by the end of the stream, or an `AMQP` protocol header (the broker refusing our
/// version) are typed ``AMQPError``s, and the connection is closed.
public struct AMQPFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = AMQPFrame

    /// The largest frame accepted, framing included.
    public let maxFrameSize: Int

    public init(maxFrameSize: Int) {
        self.maxFrameSize = max(maxFrameSize, AMQPFrame.minimumFrameMax)
    }

    /// Decodes one frame from the front of `buffer`: nil when more bytes are needed, and throws when what is
    /// there can never become a valid frame. The pure core of ``decode(context:buffer:)``.
    public func decodeFrame(_ buffer: inout ByteBuffer) throws(AMQPError) -> AMQPFrame? {
        guard buffer.readableBytes >= 7 else { return nil }
        let start = buffer.readerIndex
        if buffer.getBytes(at: start, length: 4) == [0x41, 0x4D, 0x51, 0x50] {
            guard buffer.readableBytes >= 8, let header = buffer.getBytes(at: start, length: 8) else { return nil }
            buffer.moveReaderIndex(forwardBy: 8)
            throw .unsupportedProtocol("AMQP \(header[4]) \(header[5]) \(header[6]) \(header[7])")
        }
        guard let type = buffer.getInteger(at: start, as: UInt8.self),
            let channel = buffer.getInteger(at: start + 1, as: UInt16.self),
            let size = buffer.getInteger(at: start + 3, as: UInt32.self)
        else { return nil }
        guard let kind = AMQPFrame.Kind(rawValue: type) else { throw .malformedFrame("unknown frame type \(type)") }
        let total = Int(size) + AMQPFrame.overhead
        guard total <= maxFrameSize else { throw .frameTooLarge(size: total, limit: maxFrameSize) }
        guard buffer.readableBytes >= total else { return nil }
        guard buffer.getInteger(at: start + 7 + Int(size), as: UInt8.self) == AMQPFrame.frameEnd else {
            throw .malformedFrame("frame of type \(type) on channel \(channel) does not end with 0xCE")
        }
        if kind == .heartbeat, channel != 0 { throw .malformedFrame("heartbeat on channel \(channel)") }
        buffer.moveReaderIndex(forwardBy: 7)
        let payload = buffer.readSlice(length: Int(size))!
        buffer.moveReaderIndex(forwardBy: 1)
        return AMQPFrame(kind: kind, channel: channel, payload: payload)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decodeFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let frame = try decodeFrame(&buffer) { context.fireChannelRead(wrapInboundOut(frame)) }
        if buffer.readableBytes > 0 {
            let count = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: count)
            throw AMQPError.malformedFrame("the stream ended inside a frame (\(count) bytes left)")
        }
        return .needMoreData
    }
}

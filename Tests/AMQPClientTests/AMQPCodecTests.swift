import NIOCore
import Testing

@testable import AMQPClient

/// The frame codec, methods, field tables and content headers, without a broker.
@Suite struct AMQPCodecTests {
    static let decoder = AMQPFrameDecoder(maxFrameSize: 4096)

    static func frameBytes(_ kind: UInt8, channel: UInt16, payload: [UInt8], end: UInt8 = 0xCE) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(kind)
        buffer.writeInteger(channel)
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        buffer.writeInteger(end)
        return buffer
    }

    static func methodPayload(_ method: AMQPMethod) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try method.encode(into: &buffer)
        return buffer
    }

    @Test func framesRoundTripAndWaitForTheirLastByte() throws {
        let frame = AMQPFrame(kind: .body, channel: 7, payload: ByteBuffer(bytes: Array(0..<200)))
        var wire = ByteBuffer()
        frame.encode(into: &wire)
        #expect(wire.readableBytes == 200 + AMQPFrame.overhead)
        // Every prefix is "need more data", never an error.
        for cut in 0..<wire.readableBytes {
            var prefix = wire.getSlice(at: 0, length: cut)!
            #expect(try Self.decoder.decodeFrame(&prefix) == nil)
            #expect(prefix.readerIndex == 0)
        }
        var two = wire
        var copy = wire
        two.writeBuffer(&copy)
        #expect(try Self.decoder.decodeFrame(&two) == frame)
        #expect(try Self.decoder.decodeFrame(&two) == frame)
        #expect(two.readableBytes == 0)
    }

    @Test func anOversizedFrameIsRefusedFromItsHeaderAlone() throws {
        var header = ByteBuffer()
        header.writeInteger(UInt8(3))
        header.writeInteger(UInt16(1))
        header.writeInteger(UInt32(1_000_000))
        #expect(throws: AMQPError.frameTooLarge(size: 1_000_008, limit: 4096)) { try Self.decoder.decodeFrame(&header) }
        // The limit counts the framing: a payload of frame_max - 8 fits, one more byte does not.
        var fits = Self.frameBytes(3, channel: 1, payload: Array(repeating: 0, count: 4096 - 8))
        #expect(try Self.decoder.decodeFrame(&fits) != nil)
        var over = Self.frameBytes(3, channel: 1, payload: Array(repeating: 0, count: 4096 - 7))
        #expect(throws: AMQPError.frameTooLarge(size: 4097, limit: 4096)) { try Self.decoder.decodeFrame(&over) }
    }

    @Test func malformedFramesAreTypedErrors() throws {
        var badEnd = Self.frameBytes(1, channel: 0, payload: [0, 10, 0, 51], end: 0x00)
        #expect(throws: AMQPError.malformedFrame("frame of type 1 on channel 0 does not end with 0xCE")) { try Self.decoder.decodeFrame(&badEnd) }
        var badType = Self.frameBytes(9, channel: 0, payload: [])
        #expect(throws: AMQPError.malformedFrame("unknown frame type 9")) { try Self.decoder.decodeFrame(&badType) }
        var heartbeat = Self.frameBytes(8, channel: 3, payload: [])
        #expect(throws: AMQPError.malformedFrame("heartbeat on channel 3")) { try Self.decoder.decodeFrame(&heartbeat) }
        var refused = ByteBuffer(bytes: [0x41, 0x4D, 0x51, 0x50, 0, 0, 9, 0])
        #expect(throws: AMQPError.unsupportedProtocol("AMQP 0 0 9 0")) { try Self.decoder.decodeFrame(&refused) }
    }

    static let methods: [AMQPMethod] = [
        .connectionStart(
            versionMajor: 0, versionMinor: 9, serverProperties: ["product": .string("RabbitMQ")],
            mechanisms: Array("PLAIN AMQPLAIN".utf8), locales: Array("en_US".utf8)),
        .connectionStartOk(
            clientProperties: ["capabilities": .table(["publisher_confirms": .bool(true)])], mechanism: "PLAIN",
            response: [0, 103, 0, 103], locale: "en_US"),
        .connectionTune(channelMax: 2047, frameMax: 131_072, heartbeat: 60),
        .connectionTuneOk(channelMax: 2047, frameMax: 131_072, heartbeat: 30),
        .connectionOpen(virtualHost: "/"), .connectionOpenOk,
        .connectionClose(replyCode: 320, replyText: "CONNECTION_FORCED", classID: 0, methodID: 0), .connectionCloseOk,
        .connectionBlocked(reason: "low on memory"), .connectionUnblocked,
        .channelOpen, .channelOpenOk, .channelFlow(active: true), .channelFlowOk(active: false),
        .channelClose(replyCode: 406, replyText: "PRECONDITION_FAILED", classID: 50, methodID: 10), .channelCloseOk,
        .exchangeDeclare(
            exchange: "results", type: "topic", passive: false, durable: true, autoDelete: false, isInternal: false, noWait: false,
            arguments: [:]),
        .exchangeDeclareOk,
        .queueDeclare(
            queue: "requests", passive: false, durable: true, exclusive: false, autoDelete: false, noWait: false,
            arguments: ["x-queue-type": .string("quorum"), "x-dead-letter-exchange": .string("dlx")]),
        .queueDeclareOk(queue: "requests", messageCount: 12, consumerCount: 3),
        .queueBind(queue: "q", exchange: "x", routingKey: "k.#", noWait: false, arguments: [:]), .queueBindOk,
        .queuePurge(queue: "q", noWait: false), .queuePurgeOk(messageCount: 4),
        .queueDelete(queue: "q", ifUnused: true, ifEmpty: false, noWait: false), .queueDeleteOk(messageCount: 0),
        .basicQos(prefetchSize: 0, prefetchCount: 64, global: false), .basicQosOk,
        .basicConsume(queue: "q", consumerTag: "c1", noLocal: false, noAck: false, exclusive: true, noWait: false, arguments: [:]),
        .basicConsumeOk(consumerTag: "c1"), .basicCancel(consumerTag: "c1", noWait: true), .basicCancelOk(consumerTag: "c1"),
        .basicPublish(exchange: "", routingKey: "q", mandatory: true, immediate: false),
        .basicReturn(replyCode: 312, replyText: "NO_ROUTE", exchange: "x", routingKey: "k"),
        .basicDeliver(consumerTag: "c1", deliveryTag: UInt64.max, redelivered: true, exchange: "", routingKey: "q"),
        .basicAck(deliveryTag: 5, multiple: true), .basicReject(deliveryTag: 6, requeue: false),
        .basicNack(deliveryTag: 7, multiple: false, requeue: true),
        .confirmSelect(noWait: false), .confirmSelectOk,
    ]

    @Test func everyMethodRoundTrips() throws {
        for method in Self.methods {
            #expect(try AMQPMethod.decode(try Self.methodPayload(method)) == method)
        }
    }

    @Test func unknownAndMalformedMethodsAreTypedErrors() throws {
        #expect(throws: AMQPError.unknownMethod(classID: 60, methodID: 70)) { try AMQPMethod.decode(ByteBuffer(bytes: [0, 60, 0, 70])) }
        #expect(throws: AMQPError.unknownMethod(classID: 99, methodID: 1)) { try AMQPMethod.decode(ByteBuffer(bytes: [0, 99, 0, 1])) }
        var trailing = try Self.methodPayload(.basicAck(deliveryTag: 1, multiple: false))
        trailing.writeInteger(UInt8(0))
        #expect(throws: AMQPError.malformedFrame("1 bytes after method 60.80")) { try AMQPMethod.decode(trailing) }
        let truncated = try Self.methodPayload(.queueDeclareOk(queue: "requests", messageCount: 1, consumerCount: 1))
        for cut in 0..<truncated.readableBytes {
            #expect(throws: AMQPError.self) { try AMQPMethod.decode(truncated.getSlice(at: 0, length: cut)!) }
        }
    }

    @Test func fieldTablesRoundTripEveryType() throws {
        let table: AMQPFieldTable = [
            "t": .bool(true), "b": .int8(-3), "B": .uint8(250), "s": .int16(-300), "u": .uint16(60000), "I": .int32(-70000),
            "i": .uint32(4_000_000_000), "l": .int64(-1 << 40), "f": .float(1.5), "d": .double(-2.25), "D": .decimal(scale: 2, value: 314),
            "S": .string("héllo"), "x": .bytes([0, 1, 255]), "T": .timestamp(1_700_000_000), "V": .void,
            "A": .array([.int32(1), .string("two"), .array([])]), "F": .table(["nested": .table(["deeper": .bool(false)])]),
        ]
        var buffer = ByteBuffer()
        try buffer.amqpWriteTable(table)
        let decoded = try buffer.amqpReadTable()
        #expect(decoded == table)
        #expect(decoded["S"]?.stringValue == "héllo" && decoded["I"]?.intValue == -70000)
        #expect(buffer.readableBytes == 0)
    }

    @Test func hostileFieldTablesAreMalformedNotCrashes() throws {
        // A table claiming more bytes than there are.
        var short = ByteBuffer(bytes: [0, 0, 0, 50, 1, 65])
        #expect(throws: AMQPError.malformedFrame("field table of 50 bytes in 2")) { try short.amqpReadTable() }
        // An unknown type tag.
        var unknown = ByteBuffer(bytes: [0, 0, 0, 3, 1, 65, 0x5A])
        #expect(throws: AMQPError.malformedFrame("unknown field type 0x5a")) { try unknown.amqpReadTable() }
        // Tables nested past the limit.
        var nested = AMQPFieldValue.void
        for _ in 0..<40 { nested = .table(["k": nested]) }
        var deep = ByteBuffer()
        try deep.amqpWriteTable(["k": nested])
        #expect(throws: AMQPError.self) { try deep.amqpReadTable() }
        // A long string longer than the table.
        var long = ByteBuffer(bytes: [0, 0, 0, 7, 1, 65, 0x53, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: AMQPError.self) { try long.amqpReadTable() }
    }

    @Test func contentHeadersRoundTripEveryProperty() throws {
        let properties = AMQPProperties(
            contentType: "application/json", contentEncoding: "utf-8", headers: ["warden-status": .int32(200)],
            deliveryMode: 2, priority: 5, correlationID: "corr-1", replyTo: "amq.rabbitmq.reply-to.g1h2",
            expiration: "60000", messageID: "msg-1", timestamp: 1_700_000_000, type: "verdict", userID: "guest",
            appID: "warden")
        for header in [AMQPContentHeader(bodySize: 12_345, properties: properties), AMQPContentHeader(bodySize: 0, properties: AMQPProperties())] {
            var buffer = ByteBuffer()
            try header.encode(into: &buffer)
            #expect(try AMQPContentHeader.decode(buffer) == header)
        }
        // Continued property flags (bit 0) are not something RabbitMQ sends: refused.
        let continued = ByteBuffer(bytes: [0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(throws: AMQPError.malformedFrame("content header with continued property flags")) { try AMQPContentHeader.decode(continued) }
    }

    /// Found by the AMQPFrame fuzz target: a short string of bad UTF-8 decoded with replacement characters grew
    /// past 255 bytes and could not be encoded again. It is malformed now.
    @Test func aShortStringThatIsNotUTF8IsMalformed() {
        var header = ByteBuffer(bytes: [0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00])
        header.writeInteger(UInt8(200))
        header.writeBytes(Array(repeating: UInt8(0xFF), count: 200))
        #expect(throws: AMQPError.malformedFrame("short string that is not UTF-8")) { try AMQPContentHeader.decode(header) }
    }

    @Test func shortStringsOverTheLimitAreRefusedBeforeSending() {
        var buffer = ByteBuffer()
        #expect(throws: AMQPError.self) {
            try AMQPMethod.basicPublish(exchange: String(repeating: "x", count: 256), routingKey: "", mandatory: false, immediate: false)
                .encode(into: &buffer)
        }
    }

    @Test func urlsAndBackoff() throws {
        let plain = try AMQPConfiguration(url: "amqp://user:p%40ss@broker.example:5673/%2F?heartbeat=10&frame_max=8192")
        #expect(plain.host == "broker.example" && plain.port == 5673 && !plain.useTLS)
        #expect(plain.user == "user" && plain.password == "p@ss" && plain.virtualHost == "/")
        #expect(plain.heartbeat == .seconds(10) && plain.maxFrameSize == 8192)
        #expect(plain.redactedURL == "amqp://user@broker.example:5673")
        let tls = try AMQPConfiguration(url: "amqps://rabbit/chat")
        #expect(tls.useTLS && tls.port == 5671 && tls.virtualHost == "chat" && tls.user == "guest")
        #expect(try AMQPConfiguration(url: "amqp://h").virtualHost == "/")
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "http://h") }
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://h?frame_max=10") }
        let backoff = AMQPBackoff(initialDelay: .milliseconds(100), maxDelay: .seconds(2), jitter: 0.5)
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(backoff.delay(attempt: 3, random: 1) == .milliseconds(400))
        #expect(backoff.delay(attempt: 50, random: 0) == .seconds(2))
    }
}

import NIOCore

/// The basic class's content properties (a message's metadata), the ones RabbitMQ carries.
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: AMQPFieldTable?
    /// 1: transient, 2: persistent (written to disk by a durable queue).
    public var deliveryMode: UInt8?
    public var priority: UInt8?
    public var correlationID: String?
    /// Where an answer goes: a queue name, or RabbitMQ's `amq.rabbitmq.reply-to` (direct reply-to).
    public var replyTo: String?
    public var expiration: String?
    public var messageID: String?
    /// Seconds since the epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var userID: String?
    public var appID: String?

    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: AMQPFieldTable? = nil, deliveryMode: UInt8? = nil,
        priority: UInt8? = nil, correlationID: String? = nil, replyTo: String? = nil, expiration: String? = nil,
        messageID: String? = nil, timestamp: UInt64? = nil, type: String? = nil, userID: String? = nil, appID: String? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.userID = userID
        self.appID = appID
    }
}

/// A content header frame's payload: the class, the body's size and the properties.
public struct AMQPContentHeader: Sendable, Equatable {
    public var classID: UInt16
    public var bodySize: UInt64
    public var properties: AMQPProperties

    public init(classID: UInt16 = 60, bodySize: UInt64, properties: AMQPProperties) {
        self.classID = classID
        self.bodySize = bodySize
        self.properties = properties
    }

    public func encode(into buffer: inout ByteBuffer) throws(AMQPError) {
        let p = properties
        buffer.writeInteger(classID)
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(bodySize)
        var flags: UInt16 = 0
        let present: [Bool] = [
            p.contentType != nil, p.contentEncoding != nil, p.headers != nil, p.deliveryMode != nil, p.priority != nil,
            p.correlationID != nil, p.replyTo != nil, p.expiration != nil, p.messageID != nil, p.timestamp != nil,
            p.type != nil, p.userID != nil, p.appID != nil,
        ]
        for (index, isPresent) in present.enumerated() where isPresent { flags |= 1 << (15 - index) }
        buffer.writeInteger(flags)
        if let v = p.contentType { try buffer.amqpWriteShortString(v) }
        if let v = p.contentEncoding { try buffer.amqpWriteShortString(v) }
        if let v = p.headers { try buffer.amqpWriteTable(v) }
        if let v = p.deliveryMode { buffer.writeInteger(v) }
        if let v = p.priority { buffer.writeInteger(v) }
        if let v = p.correlationID { try buffer.amqpWriteShortString(v) }
        if let v = p.replyTo { try buffer.amqpWriteShortString(v) }
        if let v = p.expiration { try buffer.amqpWriteShortString(v) }
        if let v = p.messageID { try buffer.amqpWriteShortString(v) }
        if let v = p.timestamp { buffer.writeInteger(v) }
        if let v = p.type { try buffer.amqpWriteShortString(v) }
        if let v = p.userID { try buffer.amqpWriteShortString(v) }
        if let v = p.appID { try buffer.amqpWriteShortString(v) }
    }

    /// Decodes a content header; the deprecated cluster-id property is read and dropped, more property flags
    /// (bit 0) are refused, and every byte must be used.
    public static func decode(_ payload: ByteBuffer) throws(AMQPError) -> AMQPContentHeader {
        var buffer = payload
        let classID = try buffer.amqpReadUInt16()
        _ = try buffer.amqpReadUInt16()
        let bodySize = try buffer.amqpReadUInt64()
        let flags = try buffer.amqpReadUInt16()
        guard flags & 1 == 0 else { throw .malformedFrame("content header with continued property flags") }
        func has(_ index: Int) -> Bool { flags & (1 << (15 - index)) != 0 }
        var p = AMQPProperties()
        if has(0) { p.contentType = try buffer.amqpReadShortString() }
        if has(1) { p.contentEncoding = try buffer.amqpReadShortString() }
        if has(2) { p.headers = try buffer.amqpReadTable() }
        if has(3) { p.deliveryMode = try buffer.amqpReadUInt8() }
        if has(4) { p.priority = try buffer.amqpReadUInt8() }
        if has(5) { p.correlationID = try buffer.amqpReadShortString() }
        if has(6) { p.replyTo = try buffer.amqpReadShortString() }
        if has(7) { p.expiration = try buffer.amqpReadShortString() }
        if has(8) { p.messageID = try buffer.amqpReadShortString() }
        if has(9) { p.timestamp = try buffer.amqpReadUInt64() }
        if has(10) { p.type = try buffer.amqpReadShortString() }
        if has(11) { p.userID = try buffer.amqpReadShortString() }
        if has(12) { p.appID = try buffer.amqpReadShortString() }
        if has(13) { _ = try buffer.amqpReadShortString() }
        guard buffer.readableBytes == 0 else { throw .malformedFrame("\(buffer.readableBytes) bytes after the content header") }
        return AMQPContentHeader(classID: classID, bodySize: bodySize, properties: p)
    }
}

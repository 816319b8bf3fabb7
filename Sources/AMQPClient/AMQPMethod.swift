import NIOCore

/// The AMQP 0-9-1 methods this client sends or understands, both ways (encode and decode), so the codec
/// round-trips and can be tested without a broker. A method frame naming anything else is
/// ``AMQPError/unknownMethod(classID:methodID:)``.
public enum AMQPMethod: Sendable, Equatable {
    // connection (10)
    case connectionStart(versionMajor: UInt8, versionMinor: UInt8, serverProperties: AMQPFieldTable, mechanisms: [UInt8], locales: [UInt8])
    case connectionStartOk(clientProperties: AMQPFieldTable, mechanism: String, response: [UInt8], locale: String)
    case connectionTune(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16)
    case connectionTuneOk(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16)
    case connectionOpen(virtualHost: String)
    case connectionOpenOk
    case connectionClose(replyCode: UInt16, replyText: String, classID: UInt16, methodID: UInt16)
    case connectionCloseOk
    case connectionBlocked(reason: String)
    case connectionUnblocked
    // channel (20)
    case channelOpen
    case channelOpenOk
    case channelFlow(active: Bool)
    case channelFlowOk(active: Bool)
    case channelClose(replyCode: UInt16, replyText: String, classID: UInt16, methodID: UInt16)
    case channelCloseOk
    // exchange (40)
    case exchangeDeclare(
        exchange: String, type: String, passive: Bool, durable: Bool, autoDelete: Bool, isInternal: Bool, noWait: Bool, arguments: AMQPFieldTable)
    case exchangeDeclareOk
    // queue (50)
    case queueDeclare(queue: String, passive: Bool, durable: Bool, exclusive: Bool, autoDelete: Bool, noWait: Bool, arguments: AMQPFieldTable)
    case queueDeclareOk(queue: String, messageCount: UInt32, consumerCount: UInt32)
    case queueBind(queue: String, exchange: String, routingKey: String, noWait: Bool, arguments: AMQPFieldTable)
    case queueBindOk
    case queuePurge(queue: String, noWait: Bool)
    case queuePurgeOk(messageCount: UInt32)
    case queueDelete(queue: String, ifUnused: Bool, ifEmpty: Bool, noWait: Bool)
    case queueDeleteOk(messageCount: UInt32)
    // basic (60)
    case basicQos(prefetchSize: UInt32, prefetchCount: UInt16, global: Bool)
    case basicQosOk
    case basicConsume(queue: String, consumerTag: String, noLocal: Bool, noAck: Bool, exclusive: Bool, noWait: Bool, arguments: AMQPFieldTable)
    case basicConsumeOk(consumerTag: String)
    case basicCancel(consumerTag: String, noWait: Bool)
    case basicCancelOk(consumerTag: String)
    case basicPublish(exchange: String, routingKey: String, mandatory: Bool, immediate: Bool)
    case basicReturn(replyCode: UInt16, replyText: String, exchange: String, routingKey: String)
    case basicDeliver(consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
    case basicAck(deliveryTag: UInt64, multiple: Bool)
    case basicReject(deliveryTag: UInt64, requeue: Bool)
    case basicNack(deliveryTag: UInt64, multiple: Bool, requeue: Bool)
    // confirm (85)
    case confirmSelect(noWait: Bool)
    case confirmSelectOk

    /// Class and method ids.
    public var id: (classID: UInt16, methodID: UInt16) {
        switch self {
        case .connectionStart: (10, 10)
        case .connectionStartOk: (10, 11)
        case .connectionTune: (10, 30)
        case .connectionTuneOk: (10, 31)
        case .connectionOpen: (10, 40)
        case .connectionOpenOk: (10, 41)
        case .connectionClose: (10, 50)
        case .connectionCloseOk: (10, 51)
        case .connectionBlocked: (10, 60)
        case .connectionUnblocked: (10, 61)
        case .channelOpen: (20, 10)
        case .channelOpenOk: (20, 11)
        case .channelFlow: (20, 20)
        case .channelFlowOk: (20, 21)
        case .channelClose: (20, 40)
        case .channelCloseOk: (20, 41)
        case .exchangeDeclare: (40, 10)
        case .exchangeDeclareOk: (40, 11)
        case .queueDeclare: (50, 10)
        case .queueDeclareOk: (50, 11)
        case .queueBind: (50, 20)
        case .queueBindOk: (50, 21)
        case .queuePurge: (50, 30)
        case .queuePurgeOk: (50, 31)
        case .queueDelete: (50, 40)
        case .queueDeleteOk: (50, 41)
        case .basicQos: (60, 10)
        case .basicQosOk: (60, 11)
        case .basicConsume: (60, 20)
        case .basicConsumeOk: (60, 21)
        case .basicCancel: (60, 30)
        case .basicCancelOk: (60, 31)
        case .basicPublish: (60, 40)
        case .basicReturn: (60, 50)
        case .basicDeliver: (60, 60)
        case .basicAck: (60, 80)
        case .basicReject: (60, 90)
        case .basicNack: (60, 120)
        case .confirmSelect: (85, 10)
        case .confirmSelectOk: (85, 11)
        }
    }

    /// Whether a content header and body frames follow this method.
    public var hasContent: Bool {
        switch self {
        case .basicPublish, .basicReturn, .basicDeliver: true
        default: false
        }
    }

    /// The method frame's payload.
    public func encode(into buffer: inout ByteBuffer) throws(AMQPError) {
        buffer.writeInteger(id.classID)
        buffer.writeInteger(id.methodID)
        switch self {
        case .connectionStart(let major, let minor, let properties, let mechanisms, let locales):
            buffer.writeInteger(major)
            buffer.writeInteger(minor)
            try buffer.amqpWriteTable(properties)
            buffer.amqpWriteLongBytes(mechanisms)
            buffer.amqpWriteLongBytes(locales)
        case .connectionStartOk(let properties, let mechanism, let response, let locale):
            try buffer.amqpWriteTable(properties)
            try buffer.amqpWriteShortString(mechanism)
            buffer.amqpWriteLongBytes(response)
            try buffer.amqpWriteShortString(locale)
        case .connectionTune(let channelMax, let frameMax, let heartbeat), .connectionTuneOk(let channelMax, let frameMax, let heartbeat):
            buffer.writeInteger(channelMax)
            buffer.writeInteger(frameMax)
            buffer.writeInteger(heartbeat)
        case .connectionOpen(let virtualHost):
            try buffer.amqpWriteShortString(virtualHost)
            try buffer.amqpWriteShortString("")
            buffer.writeInteger(UInt8(0))
        case .connectionOpenOk:
            try buffer.amqpWriteShortString("")
        case .connectionClose(let code, let text, let classID, let methodID), .channelClose(let code, let text, let classID, let methodID):
            buffer.writeInteger(code)
            try buffer.amqpWriteShortString(text)
            buffer.writeInteger(classID)
            buffer.writeInteger(methodID)
        case .connectionCloseOk, .connectionUnblocked, .channelCloseOk, .exchangeDeclareOk, .queueBindOk, .basicQosOk, .confirmSelectOk:
            break
        case .connectionBlocked(let reason):
            try buffer.amqpWriteShortString(reason)
        case .channelOpen:
            try buffer.amqpWriteShortString("")
        case .channelOpenOk:
            buffer.amqpWriteLongBytes([])
        case .channelFlow(let active), .channelFlowOk(let active):
            buffer.writeInteger(UInt8(active ? 1 : 0))
        case .exchangeDeclare(let exchange, let type, let passive, let durable, let autoDelete, let isInternal, let noWait, let arguments):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(exchange)
            try buffer.amqpWriteShortString(type)
            buffer.writeInteger(Self.bits(passive, durable, autoDelete, isInternal, noWait))
            try buffer.amqpWriteTable(arguments)
        case .queueDeclare(let queue, let passive, let durable, let exclusive, let autoDelete, let noWait, let arguments):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(queue)
            buffer.writeInteger(Self.bits(passive, durable, exclusive, autoDelete, noWait))
            try buffer.amqpWriteTable(arguments)
        case .queueDeclareOk(let queue, let messageCount, let consumerCount):
            try buffer.amqpWriteShortString(queue)
            buffer.writeInteger(messageCount)
            buffer.writeInteger(consumerCount)
        case .queueBind(let queue, let exchange, let routingKey, let noWait, let arguments):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(queue)
            try buffer.amqpWriteShortString(exchange)
            try buffer.amqpWriteShortString(routingKey)
            buffer.writeInteger(Self.bits(noWait))
            try buffer.amqpWriteTable(arguments)
        case .queuePurge(let queue, let noWait):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(queue)
            buffer.writeInteger(Self.bits(noWait))
        case .queuePurgeOk(let count), .queueDeleteOk(let count):
            buffer.writeInteger(count)
        case .queueDelete(let queue, let ifUnused, let ifEmpty, let noWait):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(queue)
            buffer.writeInteger(Self.bits(ifUnused, ifEmpty, noWait))
        case .basicQos(let prefetchSize, let prefetchCount, let global):
            buffer.writeInteger(prefetchSize)
            buffer.writeInteger(prefetchCount)
            buffer.writeInteger(Self.bits(global))
        case .basicConsume(let queue, let consumerTag, let noLocal, let noAck, let exclusive, let noWait, let arguments):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(queue)
            try buffer.amqpWriteShortString(consumerTag)
            buffer.writeInteger(Self.bits(noLocal, noAck, exclusive, noWait))
            try buffer.amqpWriteTable(arguments)
        case .basicConsumeOk(let consumerTag), .basicCancelOk(let consumerTag):
            try buffer.amqpWriteShortString(consumerTag)
        case .basicCancel(let consumerTag, let noWait):
            try buffer.amqpWriteShortString(consumerTag)
            buffer.writeInteger(Self.bits(noWait))
        case .basicPublish(let exchange, let routingKey, let mandatory, let immediate):
            buffer.writeInteger(UInt16(0))
            try buffer.amqpWriteShortString(exchange)
            try buffer.amqpWriteShortString(routingKey)
            buffer.writeInteger(Self.bits(mandatory, immediate))
        case .basicReturn(let code, let text, let exchange, let routingKey):
            buffer.writeInteger(code)
            try buffer.amqpWriteShortString(text)
            try buffer.amqpWriteShortString(exchange)
            try buffer.amqpWriteShortString(routingKey)
        case .basicDeliver(let consumerTag, let deliveryTag, let redelivered, let exchange, let routingKey):
            try buffer.amqpWriteShortString(consumerTag)
            buffer.writeInteger(deliveryTag)
            buffer.writeInteger(Self.bits(redelivered))
            try buffer.amqpWriteShortString(exchange)
            try buffer.amqpWriteShortString(routingKey)
        case .basicAck(let deliveryTag, let multiple):
            buffer.writeInteger(deliveryTag)
            buffer.writeInteger(Self.bits(multiple))
        case .basicReject(let deliveryTag, let requeue):
            buffer.writeInteger(deliveryTag)
            buffer.writeInteger(Self.bits(requeue))
        case .basicNack(let deliveryTag, let multiple, let requeue):
            buffer.writeInteger(deliveryTag)
            buffer.writeInteger(Self.bits(multiple, requeue))
        case .confirmSelect(let noWait):
            buffer.writeInteger(Self.bits(noWait))
        }
    }

    /// Decodes a method frame's payload; every byte must be used.
    public static func decode(_ payload: ByteBuffer) throws(AMQPError) -> AMQPMethod {
        var buffer = payload
        let classID = try buffer.amqpReadUInt16()
        let methodID = try buffer.amqpReadUInt16()
        let method: AMQPMethod
        switch (classID, methodID) {
        case (10, 10):
            method = .connectionStart(
                versionMajor: try buffer.amqpReadUInt8(), versionMinor: try buffer.amqpReadUInt8(),
                serverProperties: try buffer.amqpReadTable(), mechanisms: try buffer.amqpReadLongBytes(),
                locales: try buffer.amqpReadLongBytes())
        case (10, 11):
            method = .connectionStartOk(
                clientProperties: try buffer.amqpReadTable(), mechanism: try buffer.amqpReadShortString(),
                response: try buffer.amqpReadLongBytes(), locale: try buffer.amqpReadShortString())
        case (10, 30):
            method = .connectionTune(channelMax: try buffer.amqpReadUInt16(), frameMax: try buffer.amqpReadUInt32(), heartbeat: try buffer.amqpReadUInt16())
        case (10, 31):
            method = .connectionTuneOk(channelMax: try buffer.amqpReadUInt16(), frameMax: try buffer.amqpReadUInt32(), heartbeat: try buffer.amqpReadUInt16())
        case (10, 40):
            let host = try buffer.amqpReadShortString()
            _ = try buffer.amqpReadShortString()
            _ = try buffer.amqpReadUInt8()
            method = .connectionOpen(virtualHost: host)
        case (10, 41):
            _ = try buffer.amqpReadShortString()
            method = .connectionOpenOk
        case (10, 50):
            method = .connectionClose(
                replyCode: try buffer.amqpReadUInt16(), replyText: try buffer.amqpReadShortString(),
                classID: try buffer.amqpReadUInt16(), methodID: try buffer.amqpReadUInt16())
        case (10, 51): method = .connectionCloseOk
        case (10, 60): method = .connectionBlocked(reason: try buffer.amqpReadShortString())
        case (10, 61): method = .connectionUnblocked
        case (20, 10):
            _ = try buffer.amqpReadShortString()
            method = .channelOpen
        case (20, 11):
            _ = try buffer.amqpReadLongBytes()
            method = .channelOpenOk
        case (20, 20): method = .channelFlow(active: try buffer.amqpReadUInt8() & 1 != 0)
        case (20, 21): method = .channelFlowOk(active: try buffer.amqpReadUInt8() & 1 != 0)
        case (20, 40):
            method = .channelClose(
                replyCode: try buffer.amqpReadUInt16(), replyText: try buffer.amqpReadShortString(),
                classID: try buffer.amqpReadUInt16(), methodID: try buffer.amqpReadUInt16())
        case (20, 41): method = .channelCloseOk
        case (40, 10):
            _ = try buffer.amqpReadUInt16()
            let exchange = try buffer.amqpReadShortString()
            let type = try buffer.amqpReadShortString()
            let bits = try buffer.amqpReadUInt8()
            method = .exchangeDeclare(
                exchange: exchange, type: type, passive: bits & 1 != 0, durable: bits & 2 != 0, autoDelete: bits & 4 != 0,
                isInternal: bits & 8 != 0, noWait: bits & 16 != 0, arguments: try buffer.amqpReadTable())
        case (40, 11): method = .exchangeDeclareOk
        case (50, 10):
            _ = try buffer.amqpReadUInt16()
            let queue = try buffer.amqpReadShortString()
            let bits = try buffer.amqpReadUInt8()
            method = .queueDeclare(
                queue: queue, passive: bits & 1 != 0, durable: bits & 2 != 0, exclusive: bits & 4 != 0,
                autoDelete: bits & 8 != 0, noWait: bits & 16 != 0, arguments: try buffer.amqpReadTable())
        case (50, 11):
            method = .queueDeclareOk(
                queue: try buffer.amqpReadShortString(), messageCount: try buffer.amqpReadUInt32(),
                consumerCount: try buffer.amqpReadUInt32())
        case (50, 20):
            _ = try buffer.amqpReadUInt16()
            let queue = try buffer.amqpReadShortString()
            let exchange = try buffer.amqpReadShortString()
            let routingKey = try buffer.amqpReadShortString()
            let bits = try buffer.amqpReadUInt8()
            method = .queueBind(queue: queue, exchange: exchange, routingKey: routingKey, noWait: bits & 1 != 0, arguments: try buffer.amqpReadTable())
        case (50, 21): method = .queueBindOk
        case (50, 30):
            _ = try buffer.amqpReadUInt16()
            let queue = try buffer.amqpReadShortString()
            method = .queuePurge(queue: queue, noWait: try buffer.amqpReadUInt8() & 1 != 0)
        case (50, 31): method = .queuePurgeOk(messageCount: try buffer.amqpReadUInt32())
        case (50, 40):
            _ = try buffer.amqpReadUInt16()
            let queue = try buffer.amqpReadShortString()
            let bits = try buffer.amqpReadUInt8()
            method = .queueDelete(queue: queue, ifUnused: bits & 1 != 0, ifEmpty: bits & 2 != 0, noWait: bits & 4 != 0)
        case (50, 41): method = .queueDeleteOk(messageCount: try buffer.amqpReadUInt32())
        case (60, 10):
            method = .basicQos(
                prefetchSize: try buffer.amqpReadUInt32(), prefetchCount: try buffer.amqpReadUInt16(),
                global: try buffer.amqpReadUInt8() & 1 != 0)
        case (60, 11): method = .basicQosOk
        case (60, 20):
            _ = try buffer.amqpReadUInt16()
            let queue = try buffer.amqpReadShortString()
            let tag = try buffer.amqpReadShortString()
            let bits = try buffer.amqpReadUInt8()
            method = .basicConsume(
                queue: queue, consumerTag: tag, noLocal: bits & 1 != 0, noAck: bits & 2 != 0, exclusive: bits & 4 != 0,
                noWait: bits & 8 != 0, arguments: try buffer.amqpReadTable())
        case (60, 21): method = .basicConsumeOk(consumerTag: try buffer.amqpReadShortString())
        case (60, 30):
            let tag = try buffer.amqpReadShortString()
            method = .basicCancel(consumerTag: tag, noWait: try buffer.amqpReadUInt8() & 1 != 0)
        case (60, 31): method = .basicCancelOk(consumerTag: try buffer.amqpReadShortString())
        case (60, 40):
            _ = try buffer.amqpReadUInt16()
            let exchange = try buffer.amqpReadShortString()
            let routingKey = try buffer.amqpReadShortString()
            let bits = try buffer.amqpReadUInt8()
            method = .basicPublish(exchange: exchange, routingKey: routingKey, mandatory: bits & 1 != 0, immediate: bits & 2 != 0)
        case (60, 50):
            method = .basicReturn(
                replyCode: try buffer.amqpReadUInt16(), replyText: try buffer.amqpReadShortString(),
                exchange: try buffer.amqpReadShortString(), routingKey: try buffer.amqpReadShortString())
        case (60, 60):
            let tag = try buffer.amqpReadShortString()
            let deliveryTag = try buffer.amqpReadUInt64()
            let redelivered = try buffer.amqpReadUInt8() & 1 != 0
            method = .basicDeliver(
                consumerTag: tag, deliveryTag: deliveryTag, redelivered: redelivered,
                exchange: try buffer.amqpReadShortString(), routingKey: try buffer.amqpReadShortString())
        case (60, 80):
            method = .basicAck(deliveryTag: try buffer.amqpReadUInt64(), multiple: try buffer.amqpReadUInt8() & 1 != 0)
        case (60, 90):
            method = .basicReject(deliveryTag: try buffer.amqpReadUInt64(), requeue: try buffer.amqpReadUInt8() & 1 != 0)
        case (60, 120):
            let tag = try buffer.amqpReadUInt64()
            let bits = try buffer.amqpReadUInt8()
            method = .basicNack(deliveryTag: tag, multiple: bits & 1 != 0, requeue: bits & 2 != 0)
        case (85, 10): method = .confirmSelect(noWait: try buffer.amqpReadUInt8() & 1 != 0)
        case (85, 11): method = .confirmSelectOk
        default:
            throw .unknownMethod(classID: classID, methodID: methodID)
        }
        guard buffer.readableBytes == 0 else {
            throw .malformedFrame("\(buffer.readableBytes) bytes after method \(classID).\(methodID)")
        }
        return method
    }

    /// Packs consecutive bit fields into one octet, the first in the lowest bit.
    static func bits(_ flags: Bool...) -> UInt8 {
        var octet: UInt8 = 0
        for (index, flag) in flags.enumerated() where flag { octet |= 1 << index }
        return octet
    }
}

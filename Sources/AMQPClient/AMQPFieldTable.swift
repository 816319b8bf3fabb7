import NIOCore

/// A value in an AMQP field table or array, with RabbitMQ's type tags (the ones its brokers and clients
/// actually exchange; they differ from the 0-9-1 errata for `s`, `u` and `l`).
public indirect enum AMQPFieldValue: Sendable, Equatable {
    case bool(Bool)  // t
    case int8(Int8)  // b
    case uint8(UInt8)  // B
    case int16(Int16)  // s
    case uint16(UInt16)  // u
    case int32(Int32)  // I
    case uint32(UInt32)  // i
    case int64(Int64)  // l
    case float(Float)  // f
    case double(Double)  // d
    case decimal(scale: UInt8, value: Int32)  // D
    /// A long string (`S`): bytes, usually UTF-8.
    case longString([UInt8])
    case array([AMQPFieldValue])  // A
    /// Seconds since the epoch (`T`).
    case timestamp(UInt64)
    case table(AMQPFieldTable)  // F
    case void  // V
    /// A byte array (`x`).
    case bytes([UInt8])

    /// A long string holding `text` in UTF-8.
    public static func string(_ text: String) -> AMQPFieldValue { .longString(Array(text.utf8)) }

    /// The text of a long string (nil for other types or bytes that are not UTF-8).
    public var stringValue: String? {
        guard case .longString(let bytes) = self else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The value of any integer type, when it fits.
    public var intValue: Int? {
        switch self {
        case .int8(let v): Int(v)
        case .uint8(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int64(let v): Int(v)
        default: nil
        }
    }
}

/// An AMQP field table: ordered key/value pairs (the order is kept on the wire; keys are short strings).
public struct AMQPFieldTable: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var entries: [(key: String, value: AMQPFieldValue)]

    public init(_ entries: [(key: String, value: AMQPFieldValue)] = []) { self.entries = entries }
    public init(dictionaryLiteral elements: (String, AMQPFieldValue)...) { entries = elements.map { (key: $0.0, value: $0.1) } }

    public var isEmpty: Bool { entries.isEmpty }

    /// The first value under `key`; setting replaces it (or appends), nil removes it.
    public subscript(key: String) -> AMQPFieldValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public static func == (lhs: AMQPFieldTable, rhs: AMQPFieldTable) -> Bool {
        lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

/// Deepest nesting of tables and arrays accepted when reading: deeper input is malformed, not a stack overflow.
let maxFieldNesting = 32

extension ByteBuffer {
    // MARK: Reading (every read throws `malformedFrame` when the bytes run out)

    mutating func amqpReadUInt8() throws(AMQPError) -> UInt8 {
        guard let value = readInteger(as: UInt8.self) else { throw .malformedFrame("truncated octet") }
        return value
    }

    mutating func amqpReadUInt16() throws(AMQPError) -> UInt16 {
        guard let value = readInteger(as: UInt16.self) else { throw .malformedFrame("truncated short") }
        return value
    }

    mutating func amqpReadUInt32() throws(AMQPError) -> UInt32 {
        guard let value = readInteger(as: UInt32.self) else { throw .malformedFrame("truncated long") }
        return value
    }

    mutating func amqpReadUInt64() throws(AMQPError) -> UInt64 {
        guard let value = readInteger(as: UInt64.self) else { throw .malformedFrame("truncated long-long") }
        return value
    }

    mutating func amqpReadBytes(_ count: Int) throws(AMQPError) -> [UInt8] {
        guard count >= 0, let bytes = readBytes(length: count) else { throw .malformedFrame("truncated field of \(count) bytes") }
        return bytes
    }

    /// A short string must be UTF-8: replacing bad bytes would make it longer than the 255 bytes it may hold
    /// (each bad byte becomes three), so it could not be sent back as it came (found by the AMQPFrame fuzz target).
    mutating func amqpReadShortString() throws(AMQPError) -> String {
        let length = Int(try amqpReadUInt8())
        let bytes = try amqpReadBytes(length)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformedFrame("short string that is not UTF-8") }
        return text
    }

    mutating func amqpReadLongBytes() throws(AMQPError) -> [UInt8] {
        let length = try amqpReadUInt32()
        guard Int(length) <= readableBytes else { throw .malformedFrame("long string of \(length) bytes in \(readableBytes)") }
        return try amqpReadBytes(Int(length))
    }

    mutating func amqpReadTable(depth: Int = 0) throws(AMQPError) -> AMQPFieldTable {
        guard depth < maxFieldNesting else { throw .malformedFrame("field tables nested deeper than \(maxFieldNesting)") }
        let length = Int(try amqpReadUInt32())
        guard length <= readableBytes, var slice = readSlice(length: length) else {
            throw .malformedFrame("field table of \(length) bytes in \(readableBytes)")
        }
        var table = AMQPFieldTable()
        while slice.readableBytes > 0 {
            let key = try slice.amqpReadShortString()
            table.entries.append((key, try slice.amqpReadFieldValue(depth: depth + 1)))
        }
        return table
    }

    mutating func amqpReadFieldValue(depth: Int) throws(AMQPError) -> AMQPFieldValue {
        let tag = try amqpReadUInt8()
        switch tag {
        case UInt8(ascii: "t"): return .bool(try amqpReadUInt8() != 0)
        case UInt8(ascii: "b"): return .int8(Int8(bitPattern: try amqpReadUInt8()))
        case UInt8(ascii: "B"): return .uint8(try amqpReadUInt8())
        case UInt8(ascii: "s"): return .int16(Int16(bitPattern: try amqpReadUInt16()))
        case UInt8(ascii: "u"): return .uint16(try amqpReadUInt16())
        case UInt8(ascii: "I"): return .int32(Int32(bitPattern: try amqpReadUInt32()))
        case UInt8(ascii: "i"): return .uint32(try amqpReadUInt32())
        case UInt8(ascii: "l"): return .int64(Int64(bitPattern: try amqpReadUInt64()))
        case UInt8(ascii: "f"): return .float(Float(bitPattern: try amqpReadUInt32()))
        case UInt8(ascii: "d"): return .double(Double(bitPattern: try amqpReadUInt64()))
        case UInt8(ascii: "D"):
            let scale = try amqpReadUInt8()
            return .decimal(scale: scale, value: Int32(bitPattern: try amqpReadUInt32()))
        case UInt8(ascii: "S"): return .longString(try amqpReadLongBytes())
        case UInt8(ascii: "x"): return .bytes(try amqpReadLongBytes())
        case UInt8(ascii: "T"): return .timestamp(try amqpReadUInt64())
        case UInt8(ascii: "V"): return .void
        case UInt8(ascii: "F"): return .table(try amqpReadTable(depth: depth))
        case UInt8(ascii: "A"):
            guard depth < maxFieldNesting else { throw .malformedFrame("field arrays nested deeper than \(maxFieldNesting)") }
            let length = Int(try amqpReadUInt32())
            guard length <= readableBytes, var slice = readSlice(length: length) else {
                throw .malformedFrame("field array of \(length) bytes in \(readableBytes)")
            }
            var values: [AMQPFieldValue] = []
            while slice.readableBytes > 0 { values.append(try slice.amqpReadFieldValue(depth: depth + 1)) }
            return .array(values)
        default:
            throw .malformedFrame("unknown field type 0x\(String(tag, radix: 16))")
        }
    }

    // MARK: Writing

    /// Writes a short string; longer than 255 bytes is refused (the caller's mistake, not the broker's).
    mutating func amqpWriteShortString(_ text: String) throws(AMQPError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= 255 else { throw .malformedFrame("short string of \(bytes.count) bytes (255 at most): \(text.prefix(40))…") }
        writeInteger(UInt8(bytes.count))
        writeBytes(bytes)
    }

    mutating func amqpWriteLongBytes(_ bytes: [UInt8]) {
        writeInteger(UInt32(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    mutating func amqpWriteTable(_ table: AMQPFieldTable) throws(AMQPError) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        for (key, value) in table.entries {
            try amqpWriteShortString(key)
            try amqpWriteFieldValue(value)
        }
        setInteger(UInt32(writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    mutating func amqpWriteFieldValue(_ value: AMQPFieldValue) throws(AMQPError) {
        func tag(_ character: Unicode.Scalar) { writeInteger(UInt8(ascii: character)) }
        switch value {
        case .bool(let v):
            tag("t")
            writeInteger(UInt8(v ? 1 : 0))
        case .int8(let v):
            tag("b")
            writeInteger(v)
        case .uint8(let v):
            tag("B")
            writeInteger(v)
        case .int16(let v):
            tag("s")
            writeInteger(v)
        case .uint16(let v):
            tag("u")
            writeInteger(v)
        case .int32(let v):
            tag("I")
            writeInteger(v)
        case .uint32(let v):
            tag("i")
            writeInteger(v)
        case .int64(let v):
            tag("l")
            writeInteger(v)
        case .float(let v):
            tag("f")
            writeInteger(v.bitPattern)
        case .double(let v):
            tag("d")
            writeInteger(v.bitPattern)
        case .decimal(let scale, let v):
            tag("D")
            writeInteger(scale)
            writeInteger(v)
        case .longString(let bytes):
            tag("S")
            amqpWriteLongBytes(bytes)
        case .bytes(let bytes):
            tag("x")
            amqpWriteLongBytes(bytes)
        case .timestamp(let v):
            tag("T")
            writeInteger(v)
        case .void: tag("V")
        case .table(let table):
            tag("F")
            try amqpWriteTable(table)
        case .array(let values):
            tag("A")
            let lengthIndex = writerIndex
            writeInteger(UInt32(0))
            for value in values { try amqpWriteFieldValue(value) }
            setInteger(UInt32(writerIndex - lengthIndex - 4), at: lengthIndex)
        }
    }
}

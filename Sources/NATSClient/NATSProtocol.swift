import Foundation
import NIOCore

/// What the server sent: one protocol operation.
enum ServerOperation: Sendable {
    case info(ServerInfo)
    case message(NATSMessage)
    case ping
    case pong
    case ok
    case error(String)
}

/// The server's `INFO` (the fields this client uses).
public struct ServerInfo: Sendable, Decodable, Equatable {
    public var serverID: String
    public var serverName: String?
    public var version: String
    public var maxPayload: Int
    public var headers: Bool
    public var authRequired: Bool
    public var tlsRequired: Bool
    public var jetStream: Bool
    /// The nonce to sign for NKey authentication.
    public var nonce: String?
    /// Other servers of the cluster the client may reconnect to.
    public var connectURLs: [String]

    enum CodingKeys: String, CodingKey {
        case version, headers, nonce
        case serverID = "server_id", serverName = "server_name", maxPayload = "max_payload", authRequired = "auth_required"
        case tlsRequired = "tls_required", jetStream = "jetstream", connectURLs = "connect_urls"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try container.decodeIfPresent(String.self, forKey: .serverID) ?? ""
        serverName = try container.decodeIfPresent(String.self, forKey: .serverName)
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? ""
        maxPayload = try container.decodeIfPresent(Int.self, forKey: .maxPayload) ?? 1_048_576
        headers = try container.decodeIfPresent(Bool.self, forKey: .headers) ?? false
        authRequired = try container.decodeIfPresent(Bool.self, forKey: .authRequired) ?? false
        tlsRequired = try container.decodeIfPresent(Bool.self, forKey: .tlsRequired) ?? false
        jetStream = try container.decodeIfPresent(Bool.self, forKey: .jetStream) ?? false
        nonce = try container.decodeIfPresent(String.self, forKey: .nonce)
        connectURLs = try container.decodeIfPresent([String].self, forKey: .connectURLs) ?? []
    }
}

/// Splits the server's byte stream into ``ServerOperation``s. A `MSG`/`HMSG` is emitted only once its whole
/// payload has arrived; nothing is consumed until then.
struct NATSDecoder: ByteToMessageDecoder {
    typealias InboundOut = ServerOperation

    /// A control line longer than this is a protocol error (the server's own limit is 4 KiB by default).
    static let maxControlLine = 64 * 1024

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let operation = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(operation))
        return .continue
    }

    /// One operation from the front of `buffer`, or nil when more bytes are needed: then nothing is consumed
    /// but the blank lines before the incomplete operation.
    static func parse(_ buffer: inout ByteBuffer) throws -> ServerOperation? {
        // Blank lines are skipped by this loop, not by recursion: a stream of them must not exhaust the stack.
        while true {
            let view = buffer.readableBytesView
            guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if view.count > maxControlLine { throw NATSError.protocolError("control line over \(maxControlLine) bytes") }
                return nil
            }
            var lineEnd = newline
            if lineEnd > view.startIndex, view[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let lineLength = lineEnd - view.startIndex
            let consumedLine = newline - view.startIndex + 1
            guard let line = buffer.getString(at: buffer.readerIndex, length: lineLength) else { return nil }
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let verb = words.first?.uppercased() else {
                buffer.moveReaderIndex(forwardBy: consumedLine)
                continue
            }
            switch verb {
            case "MSG", "HMSG":
                let hasHeaders = verb == "HMSG"
                let counts = hasHeaders ? 2 : 1
                guard words.count == 3 + counts || words.count == 4 + counts else { throw NATSError.protocolError("bad \(verb) line: \(line)") }
                guard let total = Int(words[words.count - 1]), total >= 0,
                    let sid = UInt64(words[2])
                else { throw NATSError.protocolError("bad \(verb) line: \(line)") }
                let headerLength = hasHeaders ? Int(words[words.count - 2]) ?? -1 : 0
                guard headerLength >= 0, headerLength <= total else { throw NATSError.protocolError("bad \(verb) line: \(line)") }
                let reply = words.count == 4 + counts ? String(words[3]) : nil
                // Compared without adding to `total`, which may be as large as Int.max.
                guard buffer.readableBytes - consumedLine - 2 >= total else { return nil }
                buffer.moveReaderIndex(forwardBy: consumedLine)
                var headers = NATSHeaders()
                if hasHeaders, headerLength > 0 {
                    let block = buffer.readBytes(length: headerLength)!
                    headers = try NATSHeaders.parse(block)
                }
                let payload = buffer.readBytes(length: total - headerLength)!
                buffer.moveReaderIndex(forwardBy: 2)
                return .message(NATSMessage(subject: String(words[1]), replyTo: reply, headers: headers, payload: payload, sid: sid))
            case "PING":
                buffer.moveReaderIndex(forwardBy: consumedLine)
                return .ping
            case "PONG":
                buffer.moveReaderIndex(forwardBy: consumedLine)
                return .pong
            case "+OK":
                buffer.moveReaderIndex(forwardBy: consumedLine)
                return .ok
            case "-ERR":
                buffer.moveReaderIndex(forwardBy: consumedLine)
                var text = line.dropFirst(4).trimmingWhitespace()
                if text.hasPrefix("'"), text.hasSuffix("'"), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
                return .error(text)
            case "INFO":
                buffer.moveReaderIndex(forwardBy: consumedLine)
                let json = line.dropFirst(4).trimmingWhitespace()
                do {
                    return .info(try JSONDecoder().decode(ServerInfo.self, from: Data(json.utf8)))
                } catch {
                    throw NATSError.protocolError("unreadable INFO: \(error)")
                }
            default:
                throw NATSError.protocolError("unknown operation '\(verb)'")
            }
        }
    }
}

/// Encodes the client's operations.
enum ClientOperation {
    static func publish(subject: String, replyTo: String?, headers: NATSHeaders?, payload: [UInt8], into buffer: inout ByteBuffer) {
        let reply = replyTo.map { " \($0)" } ?? ""
        if let headers, !headers.isEmpty {
            let block = headers.encoded()
            buffer.writeString("HPUB \(subject)\(reply) \(block.count) \(block.count + payload.count)\r\n")
            buffer.writeBytes(block)
        } else {
            buffer.writeString("PUB \(subject)\(reply) \(payload.count)\r\n")
        }
        buffer.writeBytes(payload)
        buffer.writeString("\r\n")
    }

    static func subscribe(subject: String, queue: String?, sid: UInt64, into buffer: inout ByteBuffer) {
        buffer.writeString("SUB \(subject)\(queue.map { " \($0)" } ?? "") \(sid)\r\n")
    }

    static func unsubscribe(sid: UInt64, max: Int? = nil, into buffer: inout ByteBuffer) {
        buffer.writeString("UNSUB \(sid)\(max.map { " \($0)" } ?? "")\r\n")
    }
}

/// Subject rules shared by publish and subscribe: not empty, no whitespace.
func validSubject(_ subject: String) -> Bool {
    !subject.isEmpty && !subject.utf8.contains { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
}

/// Everything the AMQP client throws.
public enum AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not `amqp://` or `amqps://` with a host.
    case invalidURL(String)
    /// No TCP (or TLS) connection could be made.
    case connectionFailed(String)
    /// The broker refused the credentials (or closed the socket during the handshake, which is how
    /// RabbitMQ answers a failed PLAIN login).
    case authenticationFailed(String)
    /// The broker speaks another protocol version: it answered with this protocol header.
    case unsupportedProtocol(String)
    /// A frame broke the framing rules (bad type, missing frame end, truncated fields); the connection is closed.
    case malformedFrame(String)
    /// A frame larger than the negotiated `frame_max`: received (the connection is closed) or about to be sent.
    case frameTooLarge(size: Int, limit: Int)
    /// A method frame naming a class and method this client does not know; the connection is closed.
    case unknownMethod(classID: UInt16, methodID: UInt16)
    /// The broker sent something at the wrong time (a body without a header, an unexpected reply).
    case unexpectedFrame(String)
    /// The broker closed the connection (`connection.close`) with this reply code and text.
    case connectionClosed(code: UInt16, text: String)
    /// The broker closed the channel (`channel.close`), as it does on a failed declare or a bad ack.
    case channelClosed(code: UInt16, text: String)
    /// The socket went away.
    case connectionLost
    /// The connection or channel was closed by this client.
    case closed
    /// The broker nacked a publish under publisher confirms: it did not take responsibility for the message.
    case publishNacked
    /// No answer in time (a handshake step, a synchronous method).
    case timeout(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid AMQP URL '\(url)' (expected amqp://user:password@host:port/vhost or amqps://…)"
        case .connectionFailed(let why): "cannot connect to the AMQP broker: \(why)"
        case .authenticationFailed(let why): "the AMQP broker refused the login: \(why)"
        case .unsupportedProtocol(let header): "the broker does not speak AMQP 0-9-1 (it offered \(header))"
        case .malformedFrame(let why): "malformed AMQP frame: \(why)"
        case .frameTooLarge(let size, let limit): "AMQP frame of \(size) bytes is over the limit of \(limit) bytes"
        case .unknownMethod(let classID, let methodID): "unknown AMQP method \(classID).\(methodID)"
        case .unexpectedFrame(let what): "unexpected AMQP frame: \(what)"
        case .connectionClosed(let code, let text): "the broker closed the connection: \(code) \(text)"
        case .channelClosed(let code, let text): "the broker closed the channel: \(code) \(text)"
        case .connectionLost: "the connection to the AMQP broker was lost"
        case .closed: "the AMQP connection or channel is closed"
        case .publishNacked: "the broker nacked the publish"
        case .timeout(let what): "timed out waiting for \(what)"
        }
    }
}

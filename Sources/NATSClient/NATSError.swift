/// Errors thrown by ``NATSConnection`` and ``JetStream``.
public enum NATSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL could not be read (`nats://host:port`, `tls://…`; user and password or a token may be given).
    case invalidURL(String)
    /// No server accepted the connection or the handshake within the connect timeout.
    case connectionFailed(String)
    /// The server refused the credentials (`-ERR 'Authorization Violation'` or the like).
    case authorizationFailed(String)
    /// The server answered `-ERR` with this text.
    case server(String)
    /// The connection is down (reconnecting) or closed; nothing was sent.
    case notConnected
    /// The connection was closed by ``NATSConnection/close()`` or ``NATSConnection/drain()``.
    case closed
    /// The connection broke while this call waited for an answer; whether the server acted is unknown.
    case connectionLost
    /// A message with headers and payload of `size` bytes is over the server's `max_payload` of `limit`.
    case maxPayloadExceeded(size: Int, limit: Int)
    /// A request found no subscriber on its subject (the server answered with status 503).
    case noResponders(subject: String)
    /// No answer came within the timeout.
    case timeout
    /// A subject or queue group is empty or holds whitespace.
    case invalidSubject(String)
    /// The server does not accept headers, which this call needs.
    case headersNotSupported
    /// The credentials file or the NKey seed could not be read.
    case invalidCredentials(String)
    /// The server sent bytes that are not the NATS protocol.
    case protocolError(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid NATS URL '\(url)'"
        case .connectionFailed(let reason): "could not connect to NATS: \(reason)"
        case .authorizationFailed(let reason): "NATS refused the credentials: \(reason)"
        case .server(let message): "NATS server error: \(message)"
        case .notConnected: "not connected to NATS (reconnecting or closed)"
        case .closed: "the NATS connection is closed"
        case .connectionLost: "the NATS connection broke before the answer came"
        case .maxPayloadExceeded(let size, let limit): "message of \(size) bytes is over the server's max_payload of \(limit) bytes"
        case .noResponders(let subject): "no responders on '\(subject)'"
        case .timeout: "timed out waiting for NATS"
        case .invalidSubject(let subject): "invalid subject or queue group '\(subject)'"
        case .headersNotSupported: "the NATS server does not support headers"
        case .invalidCredentials(let reason): "invalid NATS credentials: \(reason)"
        case .protocolError(let reason): "NATS protocol error: \(reason)"
        }
    }
}

/// A message received from NATS (`MSG` or `HMSG`).
public struct NATSMessage: Sendable {
    /// The subject it was published to.
    public var subject: String
    /// Where the publisher wants an answer, if anywhere.
    public var replyTo: String?
    /// Its headers (empty for a plain `MSG`).
    public var headers: NATSHeaders
    /// Its payload bytes.
    public var payload: [UInt8]
    /// The subscription id it arrived on.
    public var sid: UInt64

    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders = NATSHeaders(), payload: [UInt8], sid: UInt64 = 0) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
        self.sid = sid
    }

    /// The payload as UTF-8 text, or nil when it is not valid UTF-8.
    public var string: String? { String(validating: payload, as: UTF8.self) }

    /// The status of a server-generated message (`503` no responders, `404` no messages, `408` timeout…).
    public var status: Int? { headers.status }
}

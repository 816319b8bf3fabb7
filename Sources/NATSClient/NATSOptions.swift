import Foundation
import Logging
import NIOSSL

/// How a ``NATSConnection`` proves who it is.
public enum NATSAuth: Sendable {
    /// No credentials (or those in the URL: `nats://user:password@host`, `nats://token@host`).
    case none
    /// `auth_token`.
    case token(String)
    /// `user` and `pass`.
    case userPassword(user: String, password: String)
    /// An NKey seed (`SU…`): the client signs the server's nonce with it.
    case nkey(seed: String)
    /// A `.creds` file (a user JWT and its NKey seed), as `nsc` writes them.
    case credentials(path: String)

    /// The one kind of credentials given: a token, a user and password, a creds file, or an NKey seed file
    /// (read here); none of them is ``none``. More than one kind, or a user without a password (or the
    /// reverse), is refused.
    public init(token: String?, user: String?, password: String?, credentialsFile: String?, nkeyFile: String?) throws(NATSAuthError) {
        let given = [token != nil, user != nil || password != nil, credentialsFile != nil, nkeyFile != nil].filter { $0 }.count
        guard given <= 1 else { throw NATSAuthError("give one of a token, a user and password, a creds file or an NKey seed file") }
        if let token {
            self = .token(token)
        } else if user != nil || password != nil {
            guard let user, let password else { throw NATSAuthError("a user and a password go together") }
            self = .userPassword(user: user, password: password)
        } else if let credentialsFile {
            self = .credentials(path: credentialsFile)
        } else if let nkeyFile {
            guard let seed = try? String(contentsOfFile: nkeyFile, encoding: .utf8) else {
                throw NATSAuthError("cannot read the NKey seed file \(nkeyFile)")
            }
            self = .nkey(seed: seed.trimmingCharacters(in: .whitespacesAndNewlines))
        } else {
            self = .none
        }
    }
}

/// Credentials that cannot be used as given.
public struct NATSAuthError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// When and how often a broken connection is tried again.
public struct ReconnectPolicy: Sendable {
    /// Attempts before giving up and closing; nil: forever.
    public var maxAttempts: Int?
    /// Wait before the first attempt; doubled at each failure up to `maxDelay`.
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// Each wait is drawn uniformly from `[delay × (1 - jitter), delay]`, so that many clients cut off together
    /// do not come back together.
    public var jitter: Double

    public init(maxAttempts: Int? = nil, initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5), jitter: Double = 0.5) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// No reconnection: a broken connection is closed.
    public static let never = ReconnectPolicy(maxAttempts: 0)

    /// The wait before attempt `attempt` (0-based), jittered with `random` in 0...1.
    public func delay(attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = min(attempt, 30)
        let base = min(initialDelay * (1 << exponent), maxDelay)
        let factor = 1 - min(max(jitter, 0), 1) * random
        return base * factor
    }
}

/// Everything ``NATSConnection/connect(_:)`` needs.
public struct NATSOptions: Sendable {
    /// Server URLs (`nats://host:4222`, `tls://host:4222`); tried in turn when connecting and reconnecting.
    public var servers: [String]
    public var auth: NATSAuth
    /// Client name reported to the server (`nats server report connections` shows it).
    public var name: String?
    /// TLS settings for `tls://` URLs and servers that require TLS; nil uses the system's trust roots.
    public var tls: TLSConfiguration?
    public var connectTimeout: Duration
    public var reconnect: ReconnectPolicy
    /// How often the client checks the server with a `PING`; a check unanswered for this long breaks the
    /// connection, which is then reconnected.
    public var pingInterval: Duration
    /// Default timeout of ``NATSConnection/request(_:payload:headers:timeout:)``.
    public var requestTimeout: Duration
    /// Prefix of the inbox subjects replies come back on.
    public var inboxPrefix: String
    public var logger: Logger

    public init(
        servers: [String] = ["nats://127.0.0.1:4222"], auth: NATSAuth = .none, name: String? = nil, tls: TLSConfiguration? = nil,
        connectTimeout: Duration = .seconds(5), reconnect: ReconnectPolicy = ReconnectPolicy(),
        pingInterval: Duration = .seconds(20), requestTimeout: Duration = .seconds(5), inboxPrefix: String = "_INBOX",
        logger: Logger = Logger(label: "nats")
    ) {
        self.servers = servers
        self.auth = auth
        self.name = name
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.reconnect = reconnect
        self.pingInterval = pingInterval
        self.requestTimeout = requestTimeout
        self.inboxPrefix = inboxPrefix
        self.logger = logger
    }
}

/// A parsed server URL.
struct ServerAddress: Sendable, Equatable {
    var host: String
    var port: Int
    var tls: Bool
    var user: String?
    var password: String?

    /// Whether `host` is an IPv4 or IPv6 literal rather than a name.
    var isIPAddress: Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    init(_ text: String) throws(NATSError) {
        let withScheme = text.contains("://") ? text : "nats://\(text)"
        guard let url = URLComponents(string: withScheme), let scheme = url.scheme?.lowercased(),
            ["nats", "tls"].contains(scheme), let host = url.host, !host.isEmpty
        else { throw .invalidURL(text) }
        self.host = host
        port = url.port ?? 4222
        tls = scheme == "tls"
        user = url.user?.removingPercentEncoding
        password = url.password?.removingPercentEncoding
    }
}

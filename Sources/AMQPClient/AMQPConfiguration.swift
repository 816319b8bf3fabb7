import Foundation
import Logging
import NIOSSL

/// Everything ``AMQPConnection/connect(_:)`` needs: where, who, and the limits proposed to the broker.
public struct AMQPConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// TLS (`amqps://`), with `tlsConfiguration` or the system's trust roots.
    public var useTLS: Bool
    public var tlsConfiguration: TLSConfiguration?
    public var user: String
    public var password: String
    public var virtualHost: String
    /// The heartbeat proposed to the broker; the smaller of the two non-zero values is used, zero turns them
    /// off. A connection that hears nothing for two heartbeats is closed as lost.
    public var heartbeat: Duration
    /// The largest frame this client accepts and proposes (`frame_max`); bodies are split to fit the tuned value.
    public var maxFrameSize: Int
    public var connectTimeout: Duration
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`).
    public var connectionName: String?
    public var logger: Logger

    public init(
        host: String = "127.0.0.1", port: Int = 5672, useTLS: Bool = false, tlsConfiguration: TLSConfiguration? = nil,
        user: String = "guest", password: String = "guest", virtualHost: String = "/", heartbeat: Duration = .seconds(30),
        maxFrameSize: Int = 131_072, connectTimeout: Duration = .seconds(10), connectionName: String? = nil,
        logger: Logger = Logger(label: "amqp")
    ) {
        self.host = host
        self.port = port
        self.useTLS = useTLS
        self.tlsConfiguration = tlsConfiguration
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
        self.heartbeat = heartbeat
        self.maxFrameSize = maxFrameSize
        self.connectTimeout = connectTimeout
        self.connectionName = connectionName
        self.logger = logger
    }

    /// Reads an AMQP URI: `amqp[s]://[user[:password]@]host[:port][/vhost][?heartbeat=S&frame_max=N]`, as
    /// RabbitMQ documents it: the vhost is the percent-decoded path without its leading slash (`/%2F` is
    /// `/`; no path at all is `/`); the port defaults to 5672, or 5671 for `amqps`.
    public init(url: String, logger: Logger = Logger(label: "amqp")) throws(AMQPError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "amqp" || scheme == "amqps", let host = components.host, !host.isEmpty
        else { throw .invalidURL(url) }
        self.init(logger: logger)
        self.host = host
        useTLS = scheme == "amqps"
        port = components.port ?? (useTLS ? 5671 : 5672)
        if let user = components.user { self.user = user.removingPercentEncoding ?? user }
        if let password = components.password { self.password = password.removingPercentEncoding ?? password }
        let path = components.percentEncodedPath
        if path.isEmpty {
            virtualHost = "/"
        } else {
            virtualHost = String(path.dropFirst()).removingPercentEncoding ?? String(path.dropFirst())
        }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "heartbeat":
                guard let seconds = item.value.flatMap(Int.init), seconds >= 0 else { throw .invalidURL(url) }
                heartbeat = .seconds(seconds)
            case "frame_max":
                guard let size = item.value.flatMap(Int.init), size >= AMQPFrame.minimumFrameMax else { throw .invalidURL(url) }
                maxFrameSize = size
            case "connection_timeout":
                guard let millis = item.value.flatMap(Int.init), millis > 0 else { throw .invalidURL(url) }
                connectTimeout = .milliseconds(millis)
            default:
                continue
            }
        }
    }

    /// The URL without its password, for logs.
    public var redactedURL: String {
        let vhost =
            virtualHost == "/" ? "" : "/" + (virtualHost.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? virtualHost)
        return "\(useTLS ? "amqps" : "amqp")://\(user)@\(host):\(port)\(vhost)"
    }
}

/// When a lost connection is tried again: exponential backoff with jitter, so workers cut off together do not
/// come back together.
public struct AMQPBackoff: Sendable {
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// Each wait is drawn uniformly from `[delay × (1 - jitter), delay]`.
    public var jitter: Double

    public init(initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10), jitter: Double = 0.5) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The wait before attempt `attempt` (0-based), jittered with `random` in 0...1.
    public func delay(attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let base = min(initialDelay * (1 << min(attempt, 30)), maxDelay)
        return base * (1 - min(max(jitter, 0), 1) * random)
    }
}

import Hummingbird
import NIOCore

/// Request context of Warden's routes: Hummingbird's basic context plus the connection's channel, so a
/// request whose client went away can be cancelled (``ClientDisconnect``).
public struct WardenRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: any Channel
    /// The API key the request was authenticated with, when keys are configured (it may carry a policy).
    public var apiKey: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

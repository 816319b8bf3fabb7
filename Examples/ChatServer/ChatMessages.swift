import WardenAPI

/// What a client sends over the room's WebSocket: `{"text": "hello"}` or `{"user": "ann", "text": "hello"}`.
/// `user` defaults to the `?user=` query parameter given when joining.
public struct ClientMessage: Codable, Sendable, Equatable {
    public var user: String?
    public var text: String

    public init(user: String? = nil, text: String) {
        self.user = user
        self.text = text
    }
}

/// What the server sends over a room's WebSocket. `type` is one of:
/// - `joined`: you are in `room` as `user`.
/// - `message`: `user` said `text` (message `id` in the room). `unscored: true` when Warden could not score it
///   and the fail-open policy delivered it anyway; `truncated: true` when Warden scored only part of it (too
///   long for the model) and found nothing in that part; `masked: true` when Warden flagged it and the words
///   that made it flagged were replaced by `*` (`--on-flagged mask`, or a Warden policy whose action is `mask`).
/// - `notice`: only to the sender, the message was not delivered. `reason` is `flagged` (with `labels`, the
///   labels Warden flagged), `moderation_unavailable` (fail-closed policy while Warden cannot answer) or
///   `too_long_to_check` (fail-closed policy, and partly scored messages are treated as unscored).
/// - `error`: the client sent something the server does not understand.
public struct ServerEvent: Codable, Sendable, Equatable {
    public var type: String
    public var room: String?
    public var user: String?
    public var text: String?
    public var id: Int?
    public var unscored: Bool?
    public var truncated: Bool?
    public var reason: String?
    public var labels: [String]?
    public var message: String?
    public var masked: Bool?

    public init(
        type: String, room: String? = nil, user: String? = nil, text: String? = nil, id: Int? = nil,
        unscored: Bool? = nil, truncated: Bool? = nil, reason: String? = nil, labels: [String]? = nil, message: String? = nil,
        masked: Bool? = nil
    ) {
        self.type = type
        self.room = room
        self.user = user
        self.text = text
        self.id = id
        self.unscored = unscored
        self.truncated = truncated
        self.reason = reason
        self.labels = labels
        self.message = message
        self.masked = masked
    }
}

/// A delivered message, as kept in a room's history.
public struct ChatEntry: Codable, Sendable, Equatable {
    public var id: Int
    public var user: String
    public var text: String
    /// Delivered without a score (fail-open while Warden was unavailable).
    public var unscored: Bool
}

/// Optional body of `POST /rooms/{room}/rescore`: `{"thresholds": {"harassment": 0.8}}`.
public struct RescoreRequest: Codable, Sendable {
    public var thresholds: [String: Float]?
}

/// Answer of `POST /rooms/{room}/rescore`: one verdict per message in the room's history, oldest first.
public struct RescoreResponse: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var id: Int
        public var user: String
        public var text: String
        public var flagged: Bool
        public var labels: [String]
        public var scores: [String: Float]
        /// It had been delivered unscored.
        public var wasUnscored: Bool

        enum CodingKeys: String, CodingKey {
            case id, user, text, flagged, labels, scores
            case wasUnscored = "was_unscored"
        }
    }

    public var room: String
    public var results: [Item]
}

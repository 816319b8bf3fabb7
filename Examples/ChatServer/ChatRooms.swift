import HummingbirdWebSocket

/// The rooms, their members' WebSocket writers and their message history.
///
/// Only state lives here; writing to sockets happens outside the actor so a slow client cannot hold it.
actor ChatRooms {
    private struct Member {
        var user: String
        var outbound: WebSocketOutboundWriter
    }

    private struct Room {
        var members: [Int: Member] = [:]
        var history: [ChatEntry] = []
        var nextMessageID = 1
    }

    private var rooms: [String: Room] = [:]
    private var nextMemberID = 1
    private let historyLimit: Int

    init(historyLimit: Int) {
        self.historyLimit = max(0, historyLimit)
    }

    /// Adds a member; returns its id for ``leave(room:member:)``.
    func join(room: String, user: String, outbound: WebSocketOutboundWriter) -> Int {
        let id = nextMemberID
        nextMemberID += 1
        rooms[room, default: Room()].members[id] = Member(user: user, outbound: outbound)
        return id
    }

    func leave(room: String, member: Int) {
        rooms[room]?.members[member] = nil
        if let current = rooms[room], current.members.isEmpty, current.history.isEmpty {
            rooms[room] = nil
        }
    }

    /// Records a delivered message and returns it with the writers of everyone in the room (sender included).
    func deliver(room: String, user: String, text: String, unscored: Bool) -> (ChatEntry, [WebSocketOutboundWriter]) {
        var current = rooms[room, default: Room()]
        let entry = ChatEntry(id: current.nextMessageID, user: user, text: text, unscored: unscored)
        current.nextMessageID += 1
        if historyLimit > 0 {
            current.history.append(entry)
            if current.history.count > historyLimit {
                current.history.removeFirst(current.history.count - historyLimit)
            }
        }
        rooms[room] = current
        return (entry, current.members.values.map(\.outbound))
    }

    /// The room's kept history, oldest first.
    func history(room: String) -> [ChatEntry] {
        rooms[room]?.history ?? []
    }
}

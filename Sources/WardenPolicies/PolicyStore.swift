import Logging
import Synchronization

/// The policies in force, shared by every request, replaced as a whole by ``reload()``.
///
/// A request reads ``current`` once and keeps that snapshot, so a reload never changes a request half-way.
public final class PolicyStore: Sendable {
    /// The file the policies come from; nil for a store built from a set (tests, embedding).
    public let file: PolicyFile?
    private let state: Mutex<PolicySet>
    private let logger: Logger

    /// Reads and checks `file`.
    /// - Throws: ``PolicyFileError`` naming the file, the line and the field of the first mistake.
    public init(file: PolicyFile, logger: Logger = Logger(label: "warden.policies")) throws(PolicyFileError) {
        self.file = file
        self.logger = logger
        state = Mutex(try file.load())
    }

    /// A store holding `set` (no file to reload from).
    public init(_ set: PolicySet, logger: Logger = Logger(label: "warden.policies")) {
        file = nil
        self.logger = logger
        state = Mutex(set)
    }

    /// The policies in force now.
    public var current: PolicySet { state.withLock { $0 } }

    /// Reads the file again. When it is valid its policies replace the ones in force (one log line says so);
    /// when it is not, the policies in force stay and one log line says why.
    /// - Returns: whether the new file is in force.
    @discardableResult
    public func reload() -> Bool {
        guard let file else { return false }
        do {
            let set = try file.load()
            state.withLock { $0 = set }
            logger.info("policies reloaded", metadata: ["file": "\(file.path)", "policies": "\(set.policies.map(\.name).joined(separator: ","))"])
            return true
        } catch {
            logger.error("policies not reloaded; the previous ones stay in force: \(error)")
            return false
        }
    }
}

import Foundation

/// A failure to read or write a file of `warden score`: one message that names the path.
public struct ScoreIOError: Error, CustomStringConvertible, Sendable {
    public let description: String

    /// An error with the whole message.
    public init(_ description: String) { self.description = description }

    /// "cannot `action` `path`: `strerror(code)`", for a failed system call.
    static func posix(_ action: String, _ path: String, errno code: Int32 = errno) -> ScoreIOError {
        ScoreIOError("cannot \(action) \(path): \(String(cString: strerror(code)))")
    }
}

import Foundation

/// A pipe for a child process's output: what arrives is handed to `append` as text, and `onEnd` runs once the
/// child's side is closed (everything it wrote has then been handed over).
func collectingPipe(onEnd: @escaping @Sendable () -> Void = {}, _ append: @escaping @Sendable (String) -> Void) -> Pipe {
    let pipe = Pipe()
    pipe.fileHandleForReading.readabilityHandler = { handle in
        let data = handle.availableData
        if data.isEmpty {
            handle.readabilityHandler = nil
            onEnd()
            return
        }
        append(String(decoding: data, as: UTF8.self))
    }
    return pipe
}

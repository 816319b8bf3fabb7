import Foundation
import Testing
import TorchBackend
import WardenCore

/// The nice values of this process's threads, from /proc (field 19 of each thread's stat line).
private func threadNiceValues() throws -> [Int] {
    let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
    return tasks.compactMap { task in
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3, nice field 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 16 ? Int(fields[16]) : nil
    }
}

@Suite("backend thread priority")
struct ThreadNiceTests {
    @Test("a backend loaded with a nice value runs on a thread with that value, and scores as usual")
    func niceBackendThread() async throws {
        let before = try threadNiceValues().filter { $0 == 19 }.count
        let backend = try await TorchBackend.load(path: Fixtures.tinyModel, threadNice: 19)
        #expect(try threadNiceValues().filter { $0 == 19 }.count == before + 1)
        let plain = try await TorchBackend.load(path: Fixtures.tinyModel)
        let batch = TokenBatch(count: 1, length: 4, inputIDs: [101, 7592, 102, 0], attentionMask: [1, 1, 1, 0])
        #expect(try await backend.score(batch) == (try await plain.score(batch)))
    }

    @Test("a nice value outside -20...19 is refused with a clear error")
    func niceOutOfRange() async throws {
        await #expect(throws: TorchError.self) { _ = try await TorchBackend.load(path: Fixtures.tinyModel, threadNice: 40) }
    }
}

import Foundation
import Testing

/// A hand-written JSON Lines fixture (the functional set, the self-harm contrast set): its lines, checked to be
/// plain UTF-8 with `\n` line ends, and its cases decoded with the line number of any failure.
struct JSONLinesFixture {
    let url: URL

    /// The file's non-blank lines with their 1-based line numbers, each checked to be UTF-8.
    func lines() throws -> [(number: Int, text: String)] {
        let data = try Data(contentsOf: url)
        let name = url.lastPathComponent
        #expect(!data.contains(0x0D), "\(name) has carriage returns; use \\n line ends")
        #expect(!data.starts(with: [0xEF, 0xBB, 0xBF]), "\(name) starts with a byte order mark")
        var result: [(number: Int, text: String)] = []
        for (index, bytes) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !bytes.isEmpty {
            let text = try #require(String(data: Data(bytes), encoding: .utf8), "line \(index + 1) is not UTF-8")
            result.append((number: index + 1, text: text))
        }
        return result
    }

    /// Every line decoded as `T`; a line that does not decode is recorded with its number.
    func cases<T: Decodable>(_ type: T.Type) throws -> [T] {
        let decoder = JSONDecoder()
        return try lines().map { line in
            do { return try decoder.decode(T.self, from: Data(line.text.utf8)) } catch {
                Issue.record("line \(line.number): \(error)")
                throw error
            }
        }
    }
}

import CZlib
import Foundation
import Testing
import WardenScore

/// A scratch directory for one test, removed when the value goes away.
final class Scratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("warden-score-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The path of `name` in the directory (the file need not exist).
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func file(_ name: String, bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// Writes `text` (UTF-8) to `name` and returns its path.
    @discardableResult
    func file(_ name: String, _ text: String) throws -> String {
        try file(name, bytes: Array(text.utf8))
    }

    /// Writes `members` to `name` gzip-compressed with zlib, one gzip member each (concatenated, as
    /// `cat a.gz b.gz` makes), and returns its path.
    @discardableResult
    func gzipFile(_ name: String, members: [String]) throws -> String {
        for (index, member) in members.enumerated() {
            guard let file = gzopen(path(name), index == 0 ? "wb" : "ab") else { throw ScoreIOError("gzopen failed") }
            let bytes = Array(member.utf8)
            let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
            guard gzclose(file) == Z_OK, written == bytes.count else { throw ScoreIOError("gzwrite failed") }
        }
        return path(name)
    }

    /// The content of `name` as text.
    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path(name), encoding: .utf8)
    }
}

extension RecordReader {
    /// Every remaining record.
    func all() throws -> [InputRecord] {
        var records: [InputRecord] = []
        while let record = try next() { records.append(record) }
        return records
    }
}

extension InputRecord {
    /// The carried field `name` as text (a string's value, or the raw JSON of another value).
    func field(_ name: String) -> String? {
        guard let field = fields.first(where: { $0.name == name }) else { return nil }
        switch field.value {
        case .string(let string): return string
        case .json(let raw): return "json:" + String(decoding: raw, as: UTF8.self)
        }
    }
}

/// The records of `path` read as `settings` describe.
func readRecords(_ path: String, _ settings: ReaderSettings) throws -> [InputRecord] {
    try RecordReader(path: path, settings: settings).all()
}

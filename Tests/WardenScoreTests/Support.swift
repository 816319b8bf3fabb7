import CZlib
import Foundation
import Testing
import WardenScore
import WardenTestSupport

extension TempFolder {
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

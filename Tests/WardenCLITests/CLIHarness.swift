import Foundation
import Testing
import WardenTestSupport

/// Runs the built `warden` executable as a separate process, on real files.
enum CLI {
    /// The built `warden` executable.
    static var binary: URL { get throws { URL(fileURLWithPath: try WardenBinary.require()) } }

    /// The repository's test fixtures.
    static let fixtures = TestPaths.fixtures
    /// The random-weight model bundle used by every test (fast, real TorchScript).
    static let model = fixtures.appendingPathComponent("tiny-bert").path

    struct Outcome {
        var status: Int32
        var stdout: Data
        var stderr: String
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Starts `warden args…` with standard input from `stdinFile` (or empty) and output to temporary files,
    /// in this process's environment without its `WARDEN_*` variables, plus `environment` (nil removes one).
    static func start(
        _ args: [String], stdinFile: String? = nil, environment extra: [String: String?] = [:],
        in folder: URL
    ) throws -> (Process, URL, URL) {
        let process = Process()
        process.executableURL = try binary
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("WARDEN_") { environment[key] = nil }
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let outURL = folder.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = folder.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        if let stdinFile {
            process.standardInput = FileHandle(forReadingAtPath: stdinFile)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return (process, outURL, errURL)
    }

    /// A command that did not exit within its limit; it was killed.
    struct Hung: Error, CustomStringConvertible {
        var description: String
    }

    /// Waits for `process` to exit; kills it and throws ``Hung`` once `limit` has passed (a guard against a
    /// command that never ends, not a performance check).
    static func exit(of process: Process, limit: Duration) async throws {
        guard await process.waitForExit(killingAfter: limit) else {
            throw Hung(description: "warden \((process.arguments ?? []).joined(separator: " ")) did not exit within \(limit)")
        }
    }

    /// Runs `warden args…` to completion (killed and failed after `limit`).
    static func run(
        _ args: [String], stdinFile: String? = nil, environment: [String: String?] = [:], in folder: URL,
        limit: Duration = .seconds(600)
    ) async throws -> Outcome {
        let (process, outURL, errURL) = try start(args, stdinFile: stdinFile, environment: environment, in: folder)
        try await exit(of: process, limit: limit)
        return Outcome(
            status: process.terminationStatus, stdout: try Data(contentsOf: outURL),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// A model bundle in `folder` whose model file is not TorchScript: it passes the manifest checks and fails
    /// when the engine loads it. Returns its path.
    static func brokenModel(in folder: URL) throws -> String {
        let bundle = folder.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("bad-models/not_torchscript.pt"),
            to: bundle.appendingPathComponent("model.pt"))
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tiny-bert/manifest.json"))) as! [String: Any]
        var tokenizer = manifest["tokenizer"] as! [String: Any]
        tokenizer["path"] = fixtures.appendingPathComponent("tiny-bert").appendingPathComponent(tokenizer["path"] as! String).standardizedFileURL.path
        manifest["tokenizer"] = tokenizer
        try JSONSerialization.data(withJSONObject: manifest).write(to: bundle.appendingPathComponent("manifest.json"))
        return bundle.path
    }

    /// `warden score --model <fixture> args…`.
    static func score(
        _ args: [String], stdinFile: String? = nil, environment: [String: String?] = [:], in folder: URL,
        limit: Duration = .seconds(600)
    ) async throws -> Outcome {
        try await run(["score", "--model", model] + args, stdinFile: stdinFile, environment: environment, in: folder, limit: limit)
    }
}

/// One JSON Lines output record, decoded.
struct OutputRecord {
    var object: [String: Any]
    var record: Int { object["record"] as! Int }
    var line: Int { object["line"] as! Int }
    var scores: [String: Double]? { object["scores"] as? [String: Double] }
    var flags: [String: Bool]? { object["flags"] as? [String: Bool] }
    var flagged: Bool? { object["flagged"] as? Bool }
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    subscript(key: String) -> Any? { object[key] }
}

func parseJSONLines(_ data: Data) throws -> [OutputRecord] {
    try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        return OutputRecord(object: object)
    }
}

func parseJSONLines(file: String) throws -> [OutputRecord] {
    try parseJSONLines(Data(contentsOf: URL(fileURLWithPath: file)))
}

/// Deterministic chat-like messages of varied length (some longer than the model's 128 tokens).
func chatMessages(_ count: Int, seed: UInt64 = 42) -> [String] {
    let words = [
        "hey", "team", "the", "patch", "is", "really", "broken", "today", "lol", "you", "played", "like",
        "trash", "nobody", "asked", "free", "coins", "click", "here", "gg", "wp", "what", "a", "moron",
        "pizza", "tonight", "ranked", "queue", "again", "café", "naïve", "😀", "thanks", "everyone",
    ]
    var state = seed
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    return (0..<count).map { index in
        let roll = next() % 100
        let length = roll < 85 ? Int(2 + next() % 20) : roll < 95 ? Int(30 + next() % 60) : Int(120 + next() % 120)
        return "m\(index) " + (0..<length).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ")
    }
}

/// Scores agree across runs up to float noise (batch composition changes the padding, hence the last bits).
func expectSameScores(_ a: [OutputRecord], _ b: [OutputRecord], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    for (x, y) in zip(a, b) {
        #expect(x.record == y.record, sourceLocation: sourceLocation)
        #expect(x.line == y.line, sourceLocation: sourceLocation)
        #expect(x.errorCode == y.errorCode, sourceLocation: sourceLocation)
        guard let sx = x.scores, let sy = y.scores else {
            #expect((x.scores == nil) == (y.scores == nil), sourceLocation: sourceLocation)
            continue
        }
        for (label, value) in sx {
            #expect(abs(value - (sy[label] ?? -1)) < 1e-4, "record \(x.record) label \(label)", sourceLocation: sourceLocation)
        }
    }
}

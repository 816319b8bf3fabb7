import Foundation
import Testing
import WardenCore
import WardenScore
import WardenTestSupport

@Suite struct OutputFileTests {
    let layout = OutputLayout(format: .jsonl, labels: ["a"], carriedColumns: [], includeText: false)
    let result = Moderator.Result(scores: [0.5], flags: [true], flagged: true, truncated: false, windows: 1, cached: false)

    /// Writes records `numbers` through `file` and finishes it.
    func write(_ file: OutputFile, _ numbers: ClosedRange<Int>, interrupted: Bool = false) throws {
        let writer = try file.makeWriter(layout: layout)
        for number in numbers { try writer.write(InputRecord(number: number, line: number, text: "t"), result: result, error: nil) }
        try writer.flush()
        try file.finish(writer, interrupted: interrupted)
    }

    func records(_ path: String) throws -> [Int] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["record"] as? Int)
        }
    }

    @Test(
        "the output may not be the input: the same path, a symbolic link, a hard link, or its partial file; nothing is created",
        arguments: ["same", "symlink", "hardlink", "partial"])
    func refusesTheInput(kind: String) throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", "one\ntwo\n")
        let output: String
        switch kind {
        case "same": output = input
        case "symlink":
            output = scratch.path("link.txt")
            try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: "in.txt")
        case "hardlink":
            output = scratch.path("hard.txt")
            try FileManager.default.linkItem(atPath: input, toPath: output)
        default:
            output = scratch.path("out.jsonl")
            try FileManager.default.moveItem(atPath: input, toPath: output + ".partial")
        }
        let source = kind == "partial" ? output + ".partial" : input
        for resume in [false, true] {
            let error = #expect(throws: ScoreIOError.self) {
                try OutputFile.prepare(output: output, input: source, resume: resume, format: .jsonl)
            }
            #expect(error?.description == "the output \(output) is the input file \(source); write the results to another file")
        }
        #expect(try String(contentsOfFile: source, encoding: .utf8) == "one\ntwo\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
        #expect(!names.contains { $0.hasSuffix(".partial") && kind != "partial" })
    }

    @Test("a run writes OUTPUT.partial and renames it onto the output (through a symbolic link) only when it ends")
    func partialThenRename() throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", "x\n")
        let real = try scratch.write("real.jsonl", "old\n")
        try FileManager.default.createSymbolicLink(atPath: scratch.path("out.jsonl"), withDestinationPath: "real.jsonl")

        let file = try OutputFile.prepare(output: scratch.path("out.jsonl"), input: input, resume: false, format: .jsonl)
        #expect(file.mode == .fresh && file.target == real && file.writePath == real + ".partial")
        let writer = try file.makeWriter(layout: layout)
        try writer.write(InputRecord(number: 1, line: 1, text: "t"), result: result, error: nil)
        try writer.flush()
        #expect(try String(contentsOfFile: real, encoding: .utf8) == "old\n", "the output is untouched while the run goes on")
        try file.finish(writer, interrupted: false)
        #expect(try records(real) == [1])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: scratch.path("out.jsonl")) == "real.jsonl")
        #expect(!FileManager.default.fileExists(atPath: real + ".partial"))
    }

    @Test("interrupted, the records stay in OUTPUT.partial and the output as it was; --resume continues the partial file")
    func interruptedThenResumed() throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", "x\n")
        let out = try scratch.write("out.jsonl", "old\n")
        let first = try OutputFile.prepare(output: out, input: input, resume: false, format: .jsonl)
        try write(first, 1...3, interrupted: true)
        #expect(first.unfinishedPath == out + ".partial")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "old\n")
        #expect(try records(out + ".partial") == [1, 2, 3])

        let resumed = try OutputFile.prepare(output: out, input: input, resume: true, format: .jsonl)
        #expect(resumed.source == out + ".partial" && resumed.resumePoint?.lastRecord == 3)
        guard case .append = resumed.mode else {
            Issue.record("expected append, got \(resumed.mode)")
            return
        }
        try write(resumed, 4...5)
        #expect(try records(out) == [1, 2, 3, 4, 5])
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))

        // A finished output with nothing failed is appended to in place.
        let again = try OutputFile.prepare(output: out, input: input, resume: true, format: .jsonl)
        let size = Int64(try Data(contentsOf: URL(fileURLWithPath: out)).count)
        #expect(again.source == out && again.mode == .append(from: size))
        try write(again, 6...6)
        #expect(try records(out) == Array(1...6))
    }

    @Test("earlier scoring failures make --resume rewrite: into OUTPUT.partial, or beside it when the partial file is the source")
    func rewriteWhenFailures() throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", "x\n")
        let failedLine = #"{"record":2,"line":2,"error":{"code":"scoring_failed","message":"deadline"}}"#
        let out = try scratch.write("out.jsonl", #"{"record":1,"line":1,"flagged":true}"# + "\n" + failedLine + "\n")
        let fromOutput = try OutputFile.prepare(output: out, input: input, resume: true, format: .jsonl)
        #expect(fromOutput.mode == .rewrite && fromOutput.resumePoint?.failedToScore == 1 && fromOutput.writePath == out + ".partial")
        fromOutput.abandon()
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"), "a failed run removes what it created")

        try FileManager.default.moveItem(atPath: out, toPath: out + ".partial")
        let fromPartial = try OutputFile.prepare(output: out, input: input, resume: true, format: .jsonl)
        #expect(fromPartial.mode == .rewrite && fromPartial.source == out + ".partial" && fromPartial.writePath == out + ".partial.new")
        try write(fromPartial, 1...2)
        #expect(try records(out) == [1, 2])
        #expect(!FileManager.default.fileExists(atPath: out + ".partial") && !FileManager.default.fileExists(atPath: out + ".partial.new"))
    }

    @Test("a failed run leaves an existing output alone and removes its partial file; devices are written in place")
    func abandonAndDevices() throws {
        let scratch = try TempFolder()
        let input = try scratch.write("in.txt", "x\n")
        let out = try scratch.write("out.jsonl", "old\n")
        let file = try OutputFile.prepare(output: out, input: input, resume: false, format: .jsonl)
        _ = try file.makeWriter(layout: layout)
        file.abandon()
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "old\n")
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))

        let null = try OutputFile.prepare(output: "/dev/null", input: "/dev/null", resume: false, format: .jsonl)
        #expect(null.mode == .inPlace && null.writePath == "/dev/null" && null.unfinishedPath == nil)
        #expect(throws: ScoreIOError.self) { try OutputFile.prepare(output: "/dev/null", input: input, resume: true, format: .jsonl) }
        let directory = #expect(throws: ScoreIOError.self) { try OutputFile.prepare(output: scratch.url.path, input: input, resume: false, format: .jsonl) }
        #expect(directory?.description.hasSuffix("it is a directory") == true)
    }
}

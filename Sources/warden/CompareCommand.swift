import ArgumentParser
import Foundation
import Logging
import WardenCompare
import WardenCore
import WardenScore

/// `warden compare`: two models score the same file; the report says where their decisions differ.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: CompareHelp.abstract, discussion: CompareHelp.discussion)

    @Argument(help: ArgumentHelp(CompareHelp.modelA)) var modelA: String
    @Argument(help: ArgumentHelp(CompareHelp.modelB)) var modelB: String
    @Argument(help: ArgumentHelp(ScoreHelp.input)) var input: String
    @Option(help: ArgumentHelp(ScoreHelp.format)) var format: String?
    @Option(help: ArgumentHelp(ScoreHelp.textField)) var textField = ReaderSettings(format: .text).textField
    @Option(help: ArgumentHelp(ScoreHelp.textColumn)) var textColumn = ReaderSettings(format: .text).textColumn
    @Option(help: ArgumentHelp(ScoreHelp.idField)) var idField = ReaderSettings(format: .text).idField
    @Option(help: ArgumentHelp(ScoreHelp.maxRecords)) var maxRecords: Int?
    @Option(help: ArgumentHelp(CompareHelp.top)) var top = CompareRun(modelA: "", modelB: "", input: "").top
    @Option(help: ArgumentHelp(CompareHelp.json)) var json: String?
    @Option(help: ArgumentHelp(CompareHelp.png)) var png: String?
    @Flag(name: [.customShort("q"), .long], help: ArgumentHelp(CompareHelp.quiet)) var quiet = false

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if engine.model.modelDirectory != nil { throw ValidationError("compare takes its two models as arguments, not --model") }
        if let format, InputFormat(rawValue: format) == nil { throw ValidationError("--format must be text, jsonl or csv (got '\(format)')") }
        if top < 0 { throw ValidationError("--top must not be negative") }
        if let maxRecords, maxRecords < 0 { throw ValidationError("--max-records must not be negative") }
        if input == "-" { throw ValidationError("compare reads its input twice: give a file, not -") }
    }

    func run() async throws {
        let logger = try engine.startLogging(label: "warden.compare", default: ScoreCommand.defaultLogLevel)
        var run = CompareRun(modelA: modelA, modelB: modelB, input: input, inputFormat: format.flatMap(InputFormat.init(rawValue:)))
        run.reader = ReaderSettings(format: run.reader.format, textField: textField, textColumn: textColumn, idField: idField)
        run.maxRecords = maxRecords
        run.top = top
        run.progress = !quiet && isatty(STDERR_FILENO) == 1
        run.announce = !quiet
        let outcome: CompareRun.Outcome
        do {
            outcome = try await run.run(logger: logger) { directory in try engine.makeEngine(logger: logger, directory: directory) }
        } catch .modelNotLoaded(let directory, _, let engineError?) {
            throw CommandFailure.modelNotLoaded(directory: directory, engineError)
        } catch .interrupted {
            throw ExitCode(130)
        } catch {
            throw CommandFailure(error.description)
        }
        if json == "-" {
            FileHandle.standardOutput.write(try outcome.comparison.json())
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(outcome.comparison.table)
            if let json {
                try outcome.comparison.json().write(to: URL(fileURLWithPath: json))
                print("wrote \(json)")
            }
        }
        guard let png else { return }
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("warden-compare-\(getpid()).csv").path
        try outcome.scoresCSV.write(toFile: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        guard let script = ResourceLocator.find(CompareHelp.chartScript) else {
            return FileHandle.standardError.write(Data("chart: \(CompareHelp.chartScript) not found; skipped\n".utf8))
        }
        let names = [outcome.comparison.modelA, outcome.comparison.modelB].map { "\($0.name) \($0.version)" }
        FileHandle.standardError.write(Data((ChartScript.draw(script: script, csv: csv, png: png, extra: names) + "\n").utf8))
    }
}

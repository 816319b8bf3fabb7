import ArgumentParser
import Foundation
import TorchBackend
import WardenCore

/// `warden`: the text-moderation service and its tools.
@main
struct Warden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Text moderation inference: a BERT-style classifier behind a dynamic batching queue.",
        subcommands: [ServeCommand.self, ScoreCommand.self, CompareCommand.self, WorkerCommand.self, TokenizeCommand.self, TuneCommand.self]
    )

    /// Runs the command; a ``CommandFailure`` becomes one line on standard error and exit status 1.
    static func main() async {
        do {
            var command = try parseAsRoot()
            // OpenBLAS's kernels are settled before anything uses libtorch (this may re-execute the process).
            if type(of: command) is any RunsModel.Type { BLASStartup.prepare() }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("warden: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// A command that could not do its work (bad input or output, a model that does not load, a server that
/// stopped): reported as one line `warden: <message>` on standard error with exit status 1, without a
/// stack trace or the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }

    /// The model in `directory` could not be loaded (at construction or when the engine ran).
    static func modelNotLoaded(directory: String, _ error: EngineError) -> CommandFailure {
        CommandFailure("cannot load the model in \(directory): \(error)")
    }
}

/// A command that runs the model. Before it runs, ``BLASStartup/prepare()`` settles OpenBLAS's kernels,
/// which may re-execute the process once with `OPENBLAS_CORETYPE` set.
protocol RunsModel {}

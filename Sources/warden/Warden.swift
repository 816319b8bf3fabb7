import ArgumentParser
import Foundation

/// `warden`: the text-moderation service and its tools.
@main
struct Warden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Text moderation inference: a BERT-style classifier behind a dynamic batching queue.",
        subcommands: [ServeCommand.self, ScoreCommand.self, TokenizeCommand.self, TuneCommand.self]
    )

    /// Runs the command; a `CleanExit` becomes one line on standard error and exit status 1.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CleanExit {
            FileHandle.standardError.write(Data("warden: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

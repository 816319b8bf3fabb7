import ArgumentParser

/// `warden`: the text-moderation service and its tools.
@main
struct Warden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Text moderation inference: a BERT-style classifier behind a dynamic batching queue.",
        subcommands: []
    )
}

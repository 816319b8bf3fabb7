import Foundation

/// Finds what ships beside the `warden` binary in a checkout (the default model, the tokenizer, the
/// benchmark corpus, scripts): in the current directory, else in the folders above the executable, so
/// `.build/release/warden` run from anywhere finds the repository's copies.
enum ResourceLocator {
    /// The default model bundle, relative to the repository root.
    static let defaultModel = "models/minilm-moderation"

    /// The first existing `relativePath` below the current directory or a folder above the executable.
    static func find(_ relativePath: String) -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let above = sequence(first: executable) { folder in
            let parent = folder.deletingLastPathComponent()
            return parent.standardizedFileURL.path == folder.standardizedFileURL.path ? nil : parent
        }
        for base in [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] + above {
            let candidate = base.appendingPathComponent(relativePath).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// `find(relativePath)`, or `relativePath` itself (so an error message names what was looked for).
    static func path(_ relativePath: String) -> String { find(relativePath) ?? relativePath }
}

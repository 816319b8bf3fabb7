import Foundation

/// Where the repository and its committed fixtures are, for every test target: the one `#filePath`
/// locator. `WARDEN_ROOT` overrides the repository root (a checkout elsewhere).
public enum TestPaths {
    /// The package root.
    public static let root: URL = {
        if let root = ProcessInfo.processInfo.environment["WARDEN_ROOT"], !root.isEmpty { return URL(fileURLWithPath: root) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()
    /// `Tests/Fixtures`.
    public static let fixtures = root.appendingPathComponent("Tests/Fixtures")
    /// The random-weight TorchScript fixture bundle (fast, real, fp32).
    public static let tinyBert = fixtures.appendingPathComponent("tiny-bert")
    /// The shipped default model bundle.
    public static let defaultModel = root.appendingPathComponent("models/minilm-moderation")
    /// The repository's tokenizer folder (the default model's vocabulary).
    public static let tokenizer = root.appendingPathComponent("tokenizer")

    /// A file or folder below `Tests/Fixtures`.
    public static func fixture(_ relativePath: String) -> URL { fixtures.appendingPathComponent(relativePath) }

    /// A path relative to the package root, made absolute.
    public static func path(_ relativePath: String) -> String { root.appendingPathComponent(relativePath).path }
}

import Foundation

/// A copy of the tiny fixture bundle in a folder of its own, whose manifest, model file and version a test
/// rewrites before asking for a reload.
public struct ReloadableBundle: Sendable {
    public let folder: TempFolder
    public var path: String { folder.url.path }

    public init(version: String = "0.1.0") throws {
        folder = try TempFolder()
        try write(version: version)
        try useModel(TestPaths.tinyBert.path + "/model.pt")
    }

    /// Rewrites the manifest: the fixture's, with `version` (and `name`, `labels` or `thresholds` when given).
    public func write(version: String, name: String? = nil, labels: [String]? = nil, thresholds: [String: Double]? = nil) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.tinyBert.path + "/manifest.json"))
        var manifest = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        manifest["version"] = version
        if let name { manifest["name"] = name }
        var tokenizer = manifest["tokenizer"] as! [String: Any]
        tokenizer["path"] = TestPaths.path("tokenizer")
        manifest["tokenizer"] = tokenizer
        if let labels {
            manifest["labels"] = labels
            manifest["thresholds"] = Dictionary(uniqueKeysWithValues: labels.map { ($0, 0.5) })
        }
        if let thresholds { manifest["thresholds"] = thresholds }
        try folder.write("manifest.json", bytes: Array(try JSONSerialization.data(withJSONObject: manifest)))
    }

    /// Puts a copy of the model file at `source` in the bundle.
    public func useModel(_ source: String) throws {
        try folder.write("model.pt", bytes: Array(try Data(contentsOf: URL(fileURLWithPath: source))))
    }
}

import Foundation
import Testing
import WardenCore
import WardenTestSupport

@Suite("Model bundle manifests")
struct ModelBundleTests {
    static let fixtures = TestPaths.fixtures
    static let tinyBert = fixtures.appendingPathComponent("tiny-bert")

    /// A copy of the tiny-bert bundle in a fresh temporary folder, with its manifest edited by `edit`.
    func bundle(editing edit: (inout [String: Any]) -> Void) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.tinyBert.appendingPathComponent("model.pt"), to: folder.appendingPathComponent("model.pt"))
        let data = try Data(contentsOf: Self.tinyBert.appendingPathComponent("manifest.json"))
        var manifest = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        manifest["tokenizer"] = ["path": Self.fixtures.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tokenizer").path, "lowercase": true, "strip_accents": true]
        edit(&manifest)
        try JSONSerialization.data(withJSONObject: manifest).write(to: folder.appendingPathComponent("manifest.json"))
        return folder
    }

    func loadError(_ edit: (inout [String: Any]) -> Void) throws -> ModelBundleError? {
        let folder = try bundle(editing: edit)
        defer { try? FileManager.default.removeItem(at: folder) }
        return #expect(throws: ModelBundleError.self) { try ModelBundle.load(directory: folder.path) }
    }

    @Test("the fixture bundle loads with every field")
    func loadsFixture() throws {
        let bundle = try ModelBundle.load(directory: Self.tinyBert.path)
        #expect(bundle.name == "tiny-bert")
        #expect(bundle.labels == ["toxic", "hate", "spam"])
        #expect(bundle.thresholds == [0.5, 0.5, 0.5])
        #expect(bundle.maxSequenceLength == 128)
        #expect(bundle.modelPath.hasSuffix("tiny-bert/model.pt"))
        #expect(FileManager.default.fileExists(atPath: bundle.tokenizerDirectory + "/vocab.txt"))
        #expect(bundle.textNormalization == .platformV1)
    }

    @Test("a missing folder or manifest names the path")
    func missingManifest() throws {
        let error = #expect(throws: ModelBundleError.self) { try ModelBundle.load(directory: "/nonexistent/bundle") }
        #expect(error?.description.contains("/nonexistent/bundle") == true)
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("warden-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let missing = #expect(throws: ModelBundleError.self) { try ModelBundle.load(directory: empty.path) }
        #expect(missing?.path.hasSuffix("manifest.json") == true)
    }

    @Test("invalid JSON is reported against the manifest")
    func invalidJSON() throws {
        let folder = try bundle { _ in }
        try Data("{ not json".utf8).write(to: folder.appendingPathComponent("manifest.json"))
        let error = #expect(throws: ModelBundleError.self) { try ModelBundle.load(directory: folder.path) }
        #expect(error?.problem.contains("not valid JSON") == true)
    }

    @Test("each wrong field is named", arguments: [
        ("labels", "labels"), ("max_sequence_length", "max_sequence_length"), ("model_file", "model_file"),
        ("thresholds", "thresholds"), ("activation", "activation"), ("schema_version", "schema_version"),
    ])
    func missingField(key: String, field: String) throws {
        let error = try loadError { $0.removeValue(forKey: key) }
        #expect(error?.field == field)
        #expect(error?.problem == "is required")
    }

    @Test("wrong types and values are refused with the field")
    func wrongValues() throws {
        #expect(try loadError { $0["labels"] = "toxic" }?.field == "labels")
        #expect(try loadError { $0["labels"] = ["toxic", "toxic", "spam"] }?.field == "labels[1]")
        #expect(try loadError { $0["labels"] = ["Toxic!", "hate", "spam"] }?.field == "labels[0]")
        #expect(try loadError { $0["labels"] = ["toxic", "hate/", "spam"] }?.field == "labels[1]", "no empty segment")
        #expect(try loadError { $0["labels"] = ["toxic", "/hate", "spam"] }?.field == "labels[1]", "no empty segment")
        #expect(try loadError { $0["max_sequence_length"] = 1 }?.field == "max_sequence_length")
        #expect(try loadError { $0["max_sequence_length"] = 12.5 }?.field == "max_sequence_length")
        #expect(try loadError { $0["thresholds"] = ["toxic": 1.5, "hate": 0.5, "spam": 0.5] }?.field == "thresholds.toxic")
        #expect(try loadError { $0["thresholds"] = ["toxic": 0.5, "hate": 0.5] }?.field == "thresholds.spam")
        #expect(try loadError { $0["thresholds"] = ["toxic": 0.5, "hate": 0.5, "spam": 0.5, "nsfw": 0.5] }?.field == "thresholds.nsfw")
        #expect(try loadError { $0["activation"] = "softmax" }?.field == "activation")
        #expect(try loadError { $0["schema_version"] = 2 }?.field == "schema_version")
        #expect(try loadError { $0["text_normalization"] = "nfkc" }?.field == "text_normalization")
        #expect(try loadError { $0["model_file"] = "missing.pt" }?.field == "model_file")
        #expect(try loadError { $0["tokenizer"] = ["path": "/nonexistent", "lowercase": true, "strip_accents": true] }?.field == "tokenizer.path")
        #expect(try loadError { $0["tokenizer"] = ["path": "x", "lowercase": "yes", "strip_accents": true] }?.field == "tokenizer.lowercase")
    }

    @Test("text_normalization accepts every known name; an unknown one lists them")
    func textNormalizationNames() throws {
        let folder = try bundle { $0["text_normalization"] = "platform-v2" }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try ModelBundle.load(directory: folder.path).textNormalization == .platformV2)
        let error = try loadError { $0["text_normalization"] = "platform-v3" }
        #expect(error?.problem.contains("known: none, platform-v1, platform-v2") == true)
    }

    @Test("openai_categories declares which OpenAI category a label implements, each checked")
    func openAICategories() throws {
        let folder = try bundle { $0["openai_categories"] = ["toxic": "harassment", "hate": "hate"] }
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundle = try ModelBundle.load(directory: folder.path)
        #expect(bundle.openAICategories == ["toxic": "harassment", "hate": "hate"])
        #expect(bundle.categoryNames == ["harassment", "hate", "spam"])
        #expect(bundle.label(named: "harassment") == "toxic")
        #expect(bundle.label(named: "spam") == "spam")
        #expect(bundle.label(named: "violence") == nil)
        #expect(try ModelBundle.load(directory: Self.tinyBert.path).categoryNames == ["toxic", "hate", "spam"], "none declared: labels")

        #expect(try loadError { $0["openai_categories"] = ["toxic": "rudeness"] }?.field == "openai_categories.toxic")
        #expect(try loadError { $0["openai_categories"] = ["nsfw": "sexual"] }?.field == "openai_categories.nsfw")
        #expect(try loadError { $0["openai_categories"] = ["toxic": "hate", "hate": "hate"] }?.problem.contains("two labels") == true)
        #expect(try loadError { $0["openai_categories"] = ["toxic": "hate"] }?.problem.contains("another label") == true)
        #expect(try loadError { $0["openai_categories"] = "harassment" }?.field == "openai_categories")
    }

    @Test("label_aliases keeps a former label name working for thresholds, each alias checked")
    func labelAliases() throws {
        let folder = try bundle { $0["label_aliases"] = ["abusive": "toxic"] }
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundle = try ModelBundle.load(directory: folder.path)
        #expect(bundle.labelAliases == ["abusive": "toxic"])
        #expect(bundle.label(named: "abusive") == "toxic")
        #expect(bundle.label(named: "toxic") == "toxic")
        #expect(bundle.label(named: "rude") == nil)
        #expect(try ModelBundle.load(directory: Self.tinyBert.path).labelAliases.isEmpty, "none declared")

        #expect(try loadError { $0["label_aliases"] = ["abusive": "rudeness"] }?.field == "label_aliases.abusive")
        #expect(try loadError { $0["label_aliases"] = ["hate": "toxic"] }?.problem.contains("already a label") == true)
        #expect(try loadError { $0["label_aliases"] = ["abusive": 3] }?.field == "label_aliases.abusive")
        #expect(try loadError { $0["label_aliases"] = "toxic" }?.field == "label_aliases")
    }
}

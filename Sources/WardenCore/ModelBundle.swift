import Foundation
import WordPiece

/// A model bundle: a folder `models/<name>/` holding a TorchScript file and `manifest.json`, which says
/// what the model's outputs mean and how its inputs must be prepared.
///
/// Loading validates every field and the files it names; a failure names the manifest and the field.
public struct ModelBundle: Sendable, Equatable {
    /// The folder the bundle was loaded from (absolute).
    public let directory: String
    public let name: String
    public let version: String
    /// Absolute path of the TorchScript file.
    public let modelPath: String
    /// Output labels, in the order of the model's output columns.
    public let labels: [String]
    /// Default decision threshold per label, in `labels` order.
    public let thresholds: [Float]
    /// Longest input the model takes, `[CLS]` and `[SEP]` included.
    public let maxSequenceLength: Int
    /// Absolute path of the tokenizer folder (`vocab.txt`, `tokenizer_config.json`).
    public let tokenizerDirectory: String
    /// Whether the tokenizer must lower-case / strip accents (``check(tokenizer:)`` compares them with the
    /// tokenizer's own `tokenizer_config.json`).
    public let lowercase: Bool
    public let stripAccents: Bool
    /// Normalisation applied to every text before tokenization, as in training.
    public let textNormalization: TextNormalization
    /// Per label, the OpenAI moderation category it implements (manifest `openai_categories`), for labels
    /// that declare one. A label measures what it was trained on: declare a category only where it does.
    public let openAICategories: [String: String]
    /// Numeric precision of the exported model (informational: "fp32", "bf16", "int8").
    public let precision: String
    public let description: String
    /// The model's packed entry point (manifest `packed_entry_point`, e.g. "forward_packed"): a method taking
    /// (input_ids, position_ids, segment_ids) that scores several messages packed into each row (see
    /// ``PackedTokenBatch``). Nil: the model scores padded batches only.
    public let packedEntryPoint: String?
    /// Former label names a request may still use (manifest `label_aliases`, e.g. `"toxic": "harassment"`):
    /// each maps to a current label. A deprecated name keeps working for thresholds; responses use the
    /// current name.
    public let labelAliases: [String: String]

    /// A bundle described in code (tests, custom deployments whose model runtime is not a file); `load`
    /// reads the same facts from a manifest.
    public init(
        directory: String = "", name: String, version: String = "0", modelPath: String = "", labels: [String],
        thresholds: [Float], maxSequenceLength: Int, tokenizerDirectory: String = "", lowercase: Bool = true,
        stripAccents: Bool = true, textNormalization: TextNormalization = .none,
        openAICategories: [String: String] = [:], precision: String = "fp32", description: String = "",
        packedEntryPoint: String? = nil, labelAliases: [String: String] = [:]
    ) {
        self.directory = directory
        self.name = name
        self.version = version
        self.modelPath = modelPath
        self.labels = labels
        self.thresholds = thresholds
        self.maxSequenceLength = maxSequenceLength
        self.tokenizerDirectory = tokenizerDirectory
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.textNormalization = textNormalization
        self.openAICategories = openAICategories
        self.precision = precision
        self.description = description
        self.packedEntryPoint = packedEntryPoint
        self.labelAliases = labelAliases
    }

    /// Loads and validates `manifest.json` in `directory`.
    public static func load(directory: String) throws(ModelBundleError) -> ModelBundle {
        let folder = URL(fileURLWithPath: directory).standardizedFileURL
        let manifestURL = folder.appendingPathComponent("manifest.json")
        let manifestPath = manifestURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw ModelBundleError(path: folder.path, field: nil, problem: "model folder does not exist") }
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw ModelBundleError(path: manifestPath, field: nil, problem: "file is missing or unreadable")
        }
        let root: [String: JSONValue]
        do {
            guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: data) else {
                throw ModelBundleError(path: manifestPath, field: nil, problem: "must be a JSON object")
            }
            root = object
        } catch let error as ModelBundleError {
            throw error
        } catch {
            throw ModelBundleError(path: manifestPath, field: nil, problem: "is not valid JSON")
        }
        let reader = ManifestReader(path: manifestPath, root: root)

        let schema = try reader.integer("schema_version")
        guard schema == 1 else { throw reader.error("schema_version", "unsupported version \(schema); this Warden reads 1") }
        let name = try reader.nonEmptyString("name")
        let version = try reader.nonEmptyString("version")
        let modelFile = try reader.nonEmptyString("model_file")
        let labels = try reader.labels("labels")
        let activation = try reader.nonEmptyString("activation")
        guard activation == "sigmoid" else {
            throw reader.error("activation", "unsupported activation \"\(activation)\"; Warden serves multi-label sigmoid models")
        }
        let maxLength = try reader.integer("max_sequence_length")
        guard (2...8192).contains(maxLength) else { throw reader.error("max_sequence_length", "must be between 2 and 8192 (got \(maxLength))") }
        let thresholds = try reader.thresholds("thresholds", labels: labels)
        let tokenizer = try reader.object("tokenizer")
        let tokenizerPath = try reader.nonEmptyString("path", in: tokenizer, prefix: "tokenizer")
        let lowercase = try reader.bool("lowercase", in: tokenizer, prefix: "tokenizer")
        let stripAccents = try reader.bool("strip_accents", in: tokenizer, prefix: "tokenizer")
        let normalizationName = (try reader.optionalString("text_normalization")) ?? "none"
        guard let normalization = TextNormalization(rawValue: normalizationName) else {
            throw reader.error("text_normalization", "unknown normalisation \"\(normalizationName)\" (known: \(TextNormalization.knownNames))")
        }
        let categories = try reader.openAICategories("openai_categories", labels: labels)
        let aliases = try reader.labelAliases("label_aliases", labels: labels, categories: categories)
        let precision = (try reader.optionalString("precision")) ?? "fp32"
        let description = (try reader.optionalString("description")) ?? ""
        let packedEntryPoint = try reader.optionalString("packed_entry_point")
        if let packedEntryPoint {
            let bytes = Array(packedEntryPoint.utf8)
            let isLetter = { (c: UInt8) in (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c == UInt8(ascii: "_") }
            guard let first = bytes.first, isLetter(first),
                bytes.allSatisfy({ isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { throw reader.error("packed_entry_point", "must be a method name such as \"forward_packed\" (got \"\(packedEntryPoint)\")") }
        }

        let modelURL = URL(fileURLWithPath: modelFile, relativeTo: folder).standardizedFileURL
        guard FileManager.default.fileExists(atPath: modelURL.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw reader.error("model_file", "\(modelURL.path) does not exist")
        }
        let tokenizerURL = URL(fileURLWithPath: tokenizerPath, relativeTo: folder).standardizedFileURL
        guard FileManager.default.fileExists(atPath: tokenizerURL.appendingPathComponent("vocab.txt").path) else {
            throw reader.error("tokenizer.path", "\(tokenizerURL.path) has no vocab.txt")
        }
        return ModelBundle(
            directory: folder.path, name: name, version: version, modelPath: modelURL.path, labels: labels,
            thresholds: thresholds, maxSequenceLength: maxLength, tokenizerDirectory: tokenizerURL.path,
            lowercase: lowercase, stripAccents: stripAccents, textNormalization: normalization,
            openAICategories: categories, precision: precision, description: description, packedEntryPoint: packedEntryPoint,
            labelAliases: aliases)
    }
}

extension ModelBundle {
    /// OpenAI's moderation categories, as its API names them: what `openai_categories` may declare.
    public static let openAICategoryNames = [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
    ]

    /// The name each label answers under, in label order: its OpenAI category where declared, else the label.
    public var categoryNames: [String] { labels.map { openAICategories[$0] ?? $0 } }

    /// The label a request may name a threshold by: a label, the OpenAI category a label declares, or a
    /// former name of a label (``labelAliases``).
    public func label(named name: String) -> String? {
        if labels.contains(name) { return name }
        if let category = openAICategories.first(where: { $0.value == name })?.key { return category }
        return labelAliases[name]
    }

    /// The categories this model (A) shares with `b`: each label of A with the label of B it names (the same
    /// label, the same OpenAI category, or a former name B's manifest maps), then B's labels A names the same
    /// ways. Two models are compared (`warden compare`, a shadow model) over these pairs.
    public func sharedCategories(with b: ModelBundle) -> [(a: String, b: String)] {
        let a = self
        var pairs: [(a: String, b: String)] = []
        for label in a.labels {
            if let match = b.label(named: label) ?? a.openAICategories[label].flatMap(b.label(named:)) {
                pairs.append((label, match))
            }
        }
        for label in b.labels where !pairs.contains(where: { $0.b == label }) {
            if let match = a.label(named: label) ?? b.openAICategories[label].flatMap(a.label(named:)),
                !pairs.contains(where: { $0.a == match })
            {
                pairs.append((match, label))
            }
        }
        return pairs
    }

    /// The manifest's path.
    public var manifestPath: String { URL(fileURLWithPath: directory).appendingPathComponent("manifest.json").path }

    /// Checks that `tokenizer` prepares text as the manifest says the model was trained (lower-casing and
    /// accent stripping); a mismatch would silently feed the model other tokens than in training.
    public func check(tokenizer: WordPieceTokenizer) throws(ModelBundleError) {
        for (field, wanted, actual) in [
            ("tokenizer.lowercase", lowercase, tokenizer.configuration.lowercase),
            ("tokenizer.strip_accents", stripAccents, tokenizer.configuration.stripAccents),
        ]
        where wanted != actual {
            throw ModelBundleError(
                path: manifestPath, field: field,
                problem: "is \(wanted) but the tokenizer in \(tokenizerDirectory) is configured with \(actual)")
        }
    }
}

/// A manifest that cannot be used, naming the file and the field.
public struct ModelBundleError: Error, CustomStringConvertible, Equatable {
    /// The file at fault (the manifest, or the model folder).
    public let path: String
    /// The JSON field at fault (dotted), when one is.
    public let field: String?
    /// What is wrong, in words a user can act on.
    public let problem: String

    public var description: String {
        if let field { return "\(path): field \"\(field)\": \(problem)" }
        return "\(path): \(problem)"
    }
}

/// A JSON document as read from the manifest, so each field's type can be checked and reported.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

/// Field-by-field reading of the manifest with errors that name the field.
private struct ManifestReader {
    let path: String
    let root: [String: JSONValue]

    func error(_ field: String, _ problem: String) -> ModelBundleError {
        ModelBundleError(path: path, field: field, problem: problem)
    }

    private func value(_ key: String, in object: [String: JSONValue]? = nil, prefix: String? = nil) throws(ModelBundleError) -> JSONValue {
        let field = prefix.map { "\($0).\(key)" } ?? key
        guard let value = (object ?? root)[key], value != .null else { throw error(field, "is required") }
        return value
    }

    func integer(_ key: String) throws(ModelBundleError) -> Int {
        guard case .number(let number) = try value(key), number == number.rounded(), abs(number) < 1e9 else {
            throw error(key, "must be an integer")
        }
        return Int(number)
    }

    func nonEmptyString(_ key: String, in object: [String: JSONValue]? = nil, prefix: String? = nil) throws(ModelBundleError) -> String {
        let field = prefix.map { "\($0).\(key)" } ?? key
        guard case .string(let string) = try value(key, in: object, prefix: prefix) else { throw error(field, "must be a string") }
        guard !string.trimmingCharacters(in: .whitespaces).isEmpty else { throw error(field, "must not be empty") }
        return string
    }

    func optionalString(_ key: String) throws(ModelBundleError) -> String? {
        guard let raw = root[key], raw != .null else { return nil }
        guard case .string(let string) = raw else { throw error(key, "must be a string") }
        return string
    }

    func bool(_ key: String, in object: [String: JSONValue], prefix: String) throws(ModelBundleError) -> Bool {
        guard case .bool(let flag) = try value(key, in: object, prefix: prefix) else {
            throw error("\(prefix).\(key)", "must be true or false")
        }
        return flag
    }

    func object(_ key: String) throws(ModelBundleError) -> [String: JSONValue] {
        guard case .object(let object) = try value(key) else { throw error(key, "must be an object") }
        return object
    }

    func labels(_ key: String) throws(ModelBundleError) -> [String] {
        guard case .array(let array) = try value(key) else { throw error(key, "must be an array of label names") }
        guard !array.isEmpty else { throw error(key, "must name at least one label") }
        var labels: [String] = []
        for (index, item) in array.enumerated() {
            // Names like OpenAI's categories: lower-case segments separated by "/" ("sexual/minors").
            guard case .string(let label) = item,
                label.split(separator: "/", omittingEmptySubsequences: false).allSatisfy({ segment in
                    !segment.isEmpty && segment.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
                })
            else {
                throw error("\(key)[\(index)]", "must be a label name of lower-case letters, digits, _ or -, in segments separated by / (e.g. sexual/minors)")
            }
            guard !labels.contains(label) else { throw error("\(key)[\(index)]", "duplicate label \"\(label)\"") }
            labels.append(label)
        }
        return labels
    }

    /// An optional object of label: OpenAI category, each label and category at most once, each category one
    /// of ``ModelBundle/openAICategoryNames``.
    func openAICategories(_ key: String, labels: [String]) throws(ModelBundleError) -> [String: String] {
        guard let raw = root[key], raw != .null else { return [:] }
        guard case .object(let object) = raw else { throw error(key, "must be an object of label: OpenAI category") }
        var result: [String: String] = [:]
        for label in object.keys.sorted() {
            guard labels.contains(label) else { throw error("\(key).\(label)", "is not one of the labels \(labels)") }
            guard case .string(let category) = object[label]!, ModelBundle.openAICategoryNames.contains(category) else {
                throw error("\(key).\(label)", "must be one of OpenAI's categories: \(ModelBundle.openAICategoryNames.joined(separator: ", "))")
            }
            guard !result.values.contains(category) else { throw error("\(key).\(label)", "category \"\(category)\" is declared by two labels") }
            guard !labels.contains(category) || category == label else {
                throw error("\(key).\(label)", "\"\(category)\" is also the name of another label")
            }
            result[label] = category
        }
        return result
    }

    func labelAliases(_ key: String, labels: [String], categories: [String: String]) throws(ModelBundleError) -> [String: String] {
        guard let raw = root[key], raw != .null else { return [:] }
        guard case .object(let object) = raw else { throw error(key, "must be an object of former name: label") }
        var result: [String: String] = [:]
        for alias in object.keys.sorted() {
            guard case .string(let label) = object[alias]!, labels.contains(label) else {
                throw error("\(key).\(alias)", "must name one of the labels \(labels)")
            }
            guard !labels.contains(alias), !categories.values.contains(alias) else {
                throw error("\(key).\(alias)", "\"\(alias)\" is already a label or a declared category")
            }
            result[alias] = label
        }
        return result
    }

    func thresholds(_ key: String, labels: [String]) throws(ModelBundleError) -> [Float] {
        guard case .object(let object) = try value(key) else { throw error(key, "must be an object of label: threshold") }
        for name in object.keys.sorted() where !labels.contains(name) {
            throw error("\(key).\(name)", "is not one of the labels \(labels)")
        }
        var result: [Float] = []
        for label in labels {
            guard let raw = object[label] else { throw error("\(key).\(label)", "is required (one threshold per label)") }
            guard case .number(let number) = raw, number >= 0, number <= 1 else {
                throw error("\(key).\(label)", "must be a number between 0 and 1")
            }
            result.append(Float(number))
        }
        return result
    }
}

import Foundation
import Yams

/// Reads a policies file (YAML, or JSON, which YAML reads too) and checks it against the served model:
///
/// ```yaml
/// default: community            # optional: the policy of requests that name none
/// policies:
///   kids:
///     description: Children's server
///     action: block             # allow | mask | hold | block (default block)
///     thresholds: {toxic: 0.3, insult: 0.2}
///     flag: [toxic, insult, threat]   # optional: only these categories flag
///   community:
///     action: mask
/// api_keys:                     # optional: the default policy of requests made with a key
///   "k-3f9a…": kids
/// ```
///
/// Categories are named by model label or by the OpenAI category the label answers under. Every mistake is
/// reported with the file, the line and the field (``PolicyFileError``).
public struct PolicyFile: Sendable {
    /// The categories a policy may name.
    public struct Categories: Sendable {
        /// The model's labels, for messages.
        public var labels: [String]
        /// Name (label or OpenAI category) → label.
        public var labelOfName: [String: String]

        /// - Parameters:
        ///   - labels: the model's labels.
        ///   - aliases: other names of labels (OpenAI categories), name → label.
        public init(labels: [String], aliases: [String: String] = [:]) {
            self.labels = labels
            var names = aliases
            for label in labels { names[label] = label }
            labelOfName = names
        }
    }

    /// The path the file was read from (named in errors).
    public let path: String
    public let categories: Categories

    public init(path: String, categories: Categories) {
        self.path = path
        self.categories = categories
    }

    /// Reads and checks the file at ``path``.
    public func load() throws(PolicyFileError) -> PolicySet {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PolicyFileError(file: path, line: nil, field: nil, problem: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(text)
    }

    /// Parses and checks `text` as the contents of ``path``.
    public func parse(_ text: String) throws(PolicyFileError) -> PolicySet {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyFileError(file: path, line: Self.line(of: error), field: nil, problem: "is not valid YAML or JSON: \(Self.describe(error))")
        } catch {
            throw PolicyFileError(file: path, line: nil, field: nil, problem: "is not valid YAML or JSON: \(error)")
        }
        guard let root, let top = root.mapping else {
            throw fault(root, nil, "must be a mapping with a `policies` mapping")
        }
        try checkKeys(top, allowed: ["default", "policies", "api_keys"], field: nil)
        guard let policiesNode = top["policies"] else { throw fault(root, "policies", "is missing: name at least one policy") }
        guard let policiesMap = policiesNode.mapping, !policiesMap.isEmpty else {
            throw fault(policiesNode, "policies", "must be a mapping of policy name → policy with at least one policy")
        }
        var policies: [ModerationPolicy] = []
        for (key, value) in policiesMap {
            let name = try string(key, field: "policies")
            guard !name.isEmpty else { throw fault(key, "policies", "holds a policy with an empty name") }
            policies.append(try policy(named: name, value))
        }
        var set = PolicySet(policies: policies)
        if let node = top["default"] {
            let name = try string(node, field: "default")
            guard set.policy(named: name) != nil else { throw unknownPolicy(node, "default", name, set) }
            set.defaultPolicy = name
        }
        if let node = top["api_keys"] {
            guard let keys = node.mapping else { throw fault(node, "api_keys", "must be a mapping of API key → policy name") }
            for (key, value) in keys {
                let apiKey = try string(key, field: "api_keys")
                let name = try string(value, field: "api_keys")
                guard set.policy(named: name) != nil else { throw unknownPolicy(value, "api_keys", name, set) }
                set.keyPolicies[apiKey] = name
            }
        }
        return set
    }

    private func policy(named name: String, _ node: Node) throws(PolicyFileError) -> ModerationPolicy {
        let field = "policies.\(name)"
        guard let map = node.mapping else {
            throw fault(node, field, "must be a mapping (description, action, thresholds, flag)")
        }
        try checkKeys(map, allowed: ["description", "action", "thresholds", "flag"], field: field)
        var policy = ModerationPolicy(name: name)
        if let node = map["description"] { policy.description = try string(node, field: "\(field).description") }
        if let node = map["action"] {
            let value = try string(node, field: "\(field).action")
            guard let action = PolicyAction(rawValue: value) else {
                throw fault(node, "\(field).action", "is \"\(value)\"; it must be one of \(PolicyAction.knownNames)")
            }
            policy.action = action
        }
        if let node = map["thresholds"] {
            guard let thresholds = node.mapping else {
                throw fault(node, "\(field).thresholds", "must be a mapping of category → threshold")
            }
            for (key, value) in thresholds {
                let category = try string(key, field: "\(field).thresholds")
                let label = try label(of: category, key, field: "\(field).thresholds.\(category)")
                guard let number = value.scalar.flatMap({ Double($0.string) }), number.isFinite, (0...1).contains(number) else {
                    throw fault(
                        value, "\(field).thresholds.\(category)", "is \(value.scalar?.string ?? "not a number"); a threshold must be a number from 0 to 1")
                }
                policy.thresholds[label] = Float(number)
            }
        }
        if let node = map["flag"] {
            guard let list = node.sequence else { throw fault(node, "\(field).flag", "must be a list of categories") }
            var labels = Set<String>()
            for item in list {
                let category = try string(item, field: "\(field).flag")
                labels.insert(try label(of: category, item, field: "\(field).flag"))
            }
            policy.flagging = labels
        }
        return policy
    }

    private func label(of category: String, _ node: Node, field: String) throws(PolicyFileError) -> String {
        guard let label = categories.labelOfName[category] else {
            throw fault(node, field, "names the unknown category \"\(category)\"; the model's categories are \(categories.labels.joined(separator: ", "))")
        }
        return label
    }

    private func string(_ node: Node, field: String) throws(PolicyFileError) -> String {
        guard let scalar = node.scalar else { throw fault(node, field, "must be a string") }
        return scalar.string
    }

    private func checkKeys(_ map: Node.Mapping, allowed: [String], field: String?) throws(PolicyFileError) {
        for key in map.keys {
            let name = key.scalar?.string ?? "?"
            if !allowed.contains(name) {
                let path = field.map { "\($0).\(name)" } ?? name
                throw fault(key, path, "is not a known field; the fields here are \(allowed.joined(separator: ", "))")
            }
        }
    }

    private func unknownPolicy(_ node: Node, _ field: String, _ name: String, _ set: PolicySet) -> PolicyFileError {
        fault(node, field, "names the unknown policy \"\(name)\"; the policies are \(set.policies.map(\.name).joined(separator: ", "))")
    }

    private func fault(_ node: Node?, _ field: String?, _ problem: String) -> PolicyFileError {
        PolicyFileError(file: path, line: node?.mark?.line, field: field, problem: problem)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}

/// A policies file that cannot be used, with where the mistake is: `policies.yaml:7: policies.kids.thresholds.toxic
/// is 1.5; a threshold must be a number from 0 to 1`.
public struct PolicyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file's path.
    public var file: String
    /// The line (from 1) of the mistake, when known.
    public var line: Int?
    /// The field at fault (`policies.kids.action`), when there is one.
    public var field: String?
    /// What is wrong, in words.
    public var problem: String

    public init(file: String, line: Int?, field: String?, problem: String) {
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return "\(place): \(field ?? "the file") \(problem)"
    }
}
